"""The contract for bodies cut off part-way, in either direction.

A download whose reader stops early must release the body and leave the object as it was;
an upload whose source fails part-way must raise and commit nothing (docs/reliability.md:
nothing is lost, and nothing half-written is ever visible).

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import io

import pytest

import s3po
from s3po.backend.contract._base import ContractBase, md5_etag, sample
from s3po.backend.models import Headers

__all__ = ["CutOffBodyContract"]


class _Breaks(io.RawIOBase):
    """A source that hands out ``good`` bytes of ``data``, then fails as a dying disk does."""

    def __init__(self, data: bytes, good: int) -> None:
        super().__init__()
        self._data = data
        self._good = good
        self._pos = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._pos >= self._good or size is None or size < 0:  # a read to the end fails too
            raise OSError("the source failed part-way (injected by the contract suite)")
        end = min(self._pos + size, self._good)
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class CutOffBodyContract(ContractBase):
    """Bodies abandoned or failing part-way leave the store as it was.

    .. versionadded:: 0.2.0
    """

    def test_download_closed_part_way(self, backend: s3po.Backend, bucket: str) -> None:
        """A body closed after a partial read is released; the object is untouched."""
        data = sample(300_000, 21)
        info = backend.put(bucket, "cut", data, headers=Headers())
        for _ in range(3):  # a leaked connection or file would show on a later round
            result = backend.get(bucket, "cut")
            assert result.body.read(1000) == data[:1000]
            result.body.close()
        with backend.get(bucket, "cut") as result:
            assert result.body.readall() == data
        assert backend.head(bucket, "cut").etag == info.etag

    def test_upload_source_failing_part_way_commits_nothing(
        self, backend: s3po.Backend, bucket: str
    ) -> None:
        """A stream that fails part-way raises, and no object (new or replaced) appears."""
        data = sample(200_000, 22)
        with pytest.raises((s3po.S3poError, OSError)):
            backend.put(bucket, "new", _Breaks(data, 50_000), headers=Headers(), size=len(data))
        with pytest.raises(s3po.NoSuchKey):
            backend.head(bucket, "new")
        old = backend.put(bucket, "old", b"kept", headers=Headers())
        with pytest.raises((s3po.S3poError, OSError)):
            backend.put(bucket, "old", _Breaks(data, 50_000), headers=Headers(), size=len(data))
        with backend.get(bucket, "old") as result:
            assert result.body.readall() == b"kept"
        self.check_etag(result.info.etag, md5_etag(b"kept"))
        assert result.info.etag == old.etag
