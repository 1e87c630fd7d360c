"""What every contract mixin shares: the fixtures it expects, ETag checks, test data.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest

import s3po
from s3po.backend import emulation

__all__ = ["ContractBase", "md5_etag", "multipart_etag", "sample"]


def md5_etag(data: bytes) -> str:
    """S3's ETag of a single-request upload of ``data``.

    .. versionadded:: 0.1.0
    """
    return hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag is an MD5


def multipart_etag(parts: list[bytes]) -> str:
    """S3's ETag of a multipart upload of ``parts``.

    .. versionadded:: 0.1.0
    """
    return emulation.multipart_etag([hashlib.md5(p).digest() for p in parts])  # noqa: S324


def sample(n: int, seed: int = 0) -> bytes:
    """``n`` bytes of repeatable test data; another ``seed`` gives other bytes.

    .. versionadded:: 0.2.0
    """
    block = hashlib.sha256(str(seed).encode()).digest() * 2048
    reps = n // len(block) + 1
    return (block * reps)[:n]


class ContractBase:
    """The fixtures and checks the contract mixins share.

    Fixtures expected from the subclass: ``backend`` (a :class:`~s3po.Backend`) and
    ``bucket`` (an existing, empty bucket's name). Set ``md5_etags = False`` for a backend
    whose ETags are opaque tokens rather than S3's MD5s; they must then still change with
    every write.

    .. versionadded:: 0.2.0
    """

    md5_etags = True

    def check_etag(self, etag: str, expected: str) -> None:
        """``etag`` is ``expected`` (S3's), or an opaque token of the same form."""
        if self.md5_etags:
            assert etag == expected
        else:
            head, _, count = etag.partition("-")
            assert re.fullmatch(r"[0-9a-f]{32}", head), etag
            assert count == expected.partition("-")[2]

    @pytest.fixture
    def conn(self, backend: s3po.Backend) -> Iterator[s3po.Connection]:
        """A Connection over the backend, with small parts to exercise multipart."""
        chunk = s3po.ChunkConfig(
            threshold=backend.capabilities.min_part_size,
            part_size=backend.capabilities.min_part_size,
            max_concurrency=4,
        )
        conn = s3po.Connection(backend, config=s3po.TransferConfig(chunk=chunk))
        yield conn
        conn.wait()
