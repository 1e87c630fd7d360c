"""A body that ends before the size its store reported is resumed, never handed back short.

The backend here is written as a third-party plugin would be: its body just returns b""
early, raising nothing, so only the core can notice.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from s3po_local import LocalBackend

import s3po

KIB = 1024


class _StopsEarly(s3po.Body):
    """Hands out at most ``limit`` bytes of ``inner``, then says the body ended."""

    def __init__(self, inner: s3po.Body, limit: int) -> None:
        super().__init__()
        self._inner = inner
        self._left = limit

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = self._inner.read(want)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._inner.close()
        super().close()


class ShortBodies(s3po.ForwardingBackend):
    """A plugin-like backend whose first ``cuts`` bodies stop ``keep`` bytes in."""

    def __init__(self, inner: s3po.Backend, *, cuts: int, keep: int) -> None:
        super().__init__(inner)
        self.cuts = cuts
        self.keep = keep
        self.gets: list[tuple[int, int | None, str | None]] = []

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> s3po.GetResult:
        self.gets.append((start, end, if_match))
        result = self.inner.get(bucket, key, start=start, end=end, if_match=if_match)
        if self.cuts <= 0:
            return result
        self.cuts -= 1
        body = _StopsEarly(result.body, self.keep)
        return s3po.GetResult(info=result.info, body=body, start=result.start, end=result.end)


@pytest.fixture
def plain() -> s3po.TransferConfig:
    """No s3po checksum: only the reported size can tell a body is short."""
    return s3po.TransferConfig(
        checksum=False,
        chunk=s3po.ChunkConfig(threshold=128 * KIB, part_size=64 * KIB, max_concurrency=4),
    )


@pytest.mark.parametrize("size", [10 * KIB, 300 * KIB], ids=["single", "ranged"])
def test_a_short_body_is_resumed_from_its_offset_pinned_to_the_etag(
    store: LocalBackend,
    make_conn: Callable[..., s3po.Connection],
    plain: s3po.TransferConfig,
    size: int,
) -> None:
    data = bytes(range(256)) * (size // 256)
    make_conn(config=plain).upload_string("bucket", "k", data)
    short = ShortBodies(store, cuts=1, keep=1000)
    conn = make_conn(short, config=plain)
    assert conn.download_bytes("bucket", "k") == data
    etag = store.head("bucket", "k").etag
    resumed = [g for g in short.gets if g[0] == 1000]
    assert resumed, short.gets
    assert all(if_match == etag for _, _, if_match in resumed)


def test_a_short_body_to_a_file_is_resumed(
    store: LocalBackend,
    make_conn: Callable[..., s3po.Connection],
    plain: s3po.TransferConfig,
    tmp_path: Path,
) -> None:
    data = bytes(range(256)) * 1200
    make_conn(config=plain).upload_string("bucket", "k", data)
    conn = make_conn(ShortBodies(store, cuts=2, keep=5000), config=plain)
    conn.download_file("bucket", "k", tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == data


def test_a_body_that_keeps_ending_short_exhausts_the_retries(
    store: LocalBackend,
    make_conn: Callable[..., s3po.Connection],
    plain: s3po.TransferConfig,
    tmp_path: Path,
) -> None:
    data = b"x" * (20 * KIB)
    make_conn(config=plain).upload_string("bucket", "k", data)
    conn = make_conn(ShortBodies(store, cuts=1000, keep=0), config=plain)
    with pytest.raises(s3po.RetriesExhausted):
        conn.download_bytes("bucket", "k")
    with pytest.raises(s3po.RetriesExhausted):
        conn.download_file("bucket", "k", tmp_path / "out.bin")
    assert list(tmp_path.glob("*out.bin*")) == []
