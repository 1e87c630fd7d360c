"""Hostile bodies: decompression bombs and stacked encodings, through the whole pipeline.

A streamed download decodes in bounded memory whatever the expansion ratio; an in-memory
download refuses an expansion far beyond real data with :class:`~s3po.CorruptData` naming
the object; too many stacked encodings is a typed error, and ``decompress=False`` still
returns the stored bytes.
"""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import s3po
from s3po.codecs import MAX_ENCODING_LAYERS

if TYPE_CHECKING:
    from typing_extensions import Buffer

MIB = 1024 * 1024
#: Peak Python memory a streamed bomb may use, far below what it expands to.
STREAM_BOUND = 24 * MIB


def gzip_bomb(gib: int, layers: int = 3) -> bytes:
    """Gzip applied ``layers`` times over ``gib`` GiB of zeros, built in well under a second.

    The inner layer is 1 MiB of zeros gzipped once and repeated: concatenated gzip members
    are one valid gzip body that decodes to their concatenation. The outer layers compress
    that very repetitive text to almost nothing (10 GiB x3 is under 1 KB).
    """
    body = gzip.compress(bytes(MIB), compresslevel=9, mtime=0) * (gib * 1024)
    for _ in range(layers - 1):
        packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        body = packer.compress(body) + packer.flush()
    return body


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Measure the peak of Python allocations inside the block, above where it started."""
    tracemalloc.start()
    result: list[int] = []
    try:
        base = tracemalloc.get_traced_memory()[0]
        yield result
    finally:
        result.append(tracemalloc.get_traced_memory()[1] - base)
        tracemalloc.stop()


class NullSink(io.BytesIO):
    """A binary stream that counts what it is given and keeps nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def write(self, data: Buffer) -> int:
        size = memoryview(data).nbytes
        self.count += size
        return size


def _put(conn: s3po.Connection, key: str, body: bytes, encoding: str) -> None:
    conn.upload_string("bucket", key, body, headers={"Content-Encoding": encoding})


@pytest.fixture
def conn(make_conn: Callable[..., s3po.Connection]) -> s3po.Connection:
    return make_conn()


def test_bomb_is_tiny() -> None:
    assert len(gzip_bomb(10)) < 1000


def test_streamed_gzip_x3_bomb_stays_in_bounded_memory(conn: s3po.Connection) -> None:
    _put(conn, "bomb", gzip_bomb(1), "gzip, gzip, gzip")
    sink = NullSink()
    with peak_memory() as peak:
        conn.download_fileobj("bucket", "bomb", sink)
    assert sink.count == 1 << 30
    assert peak[0] < STREAM_BOUND


def test_streamed_gzip_x3_bomb_to_a_file_stays_in_bounded_memory(
    conn: s3po.Connection, tmp_path: Path
) -> None:
    _put(conn, "bomb", gzip_bomb(1), "gzip, gzip, gzip")
    with peak_memory() as peak:
        result = conn.download_file("bucket", "bomb", tmp_path / "zeros.bin")
    assert result.size == 1 << 30
    assert (tmp_path / "zeros.bin").stat().st_size == 1 << 30
    assert peak[0] < STREAM_BOUND


def test_reading_a_10_gib_bomb_as_a_stream_stays_in_bounded_memory(
    conn: s3po.Connection,
) -> None:
    _put(conn, "bomb", gzip_bomb(10), "gzip, gzip, gzip")
    with peak_memory() as peak, conn.transfer.open("bucket", "bomb") as result:
        seen = 0
        while seen < 200 * MIB:
            chunk = result.body.read(MIB)
            assert chunk
            assert len(chunk) <= MIB
            seen += len(chunk)
    assert peak[0] < STREAM_BOUND


def test_in_memory_download_of_a_bomb_raises_corrupt_data(conn: s3po.Connection) -> None:
    _put(conn, "bomb", gzip_bomb(10), "gzip, gzip, gzip")
    with peak_memory() as peak, pytest.raises(s3po.CorruptData) as info:
        conn.download_bytes("bucket", "bomb")
    assert (info.value.bucket, info.value.key) == ("bucket", "bomb")
    assert "s3://bucket/bomb" in str(info.value)
    assert "max_expansion_ratio" in str(info.value)
    assert peak[0] < 256 * MIB
    with pytest.raises(s3po.CorruptData, match="max_expansion_ratio"):
        conn.download_string("bucket", "bomb")
    # The stored bytes are still there, and still readable as they are.
    assert conn.download_bytes("bucket", "bomb", decompress=False) == gzip_bomb(10)


def _zstd(data: bytes) -> bytes:
    zstandard = pytest.importorskip("zstandard")
    return zstandard.ZstdCompressor(level=1).compress(data)  # type: ignore[no-any-return]


def test_in_memory_guard_is_on_by_default_and_streaming_is_never_refused(
    conn: s3po.Connection,
) -> None:
    data = bytes(80 * MIB)  # zstd shrinks zeros tens of thousands of times
    _put(conn, "zeros", _zstd(data), "zstd")
    with pytest.raises(s3po.CorruptData, match="max_expansion_ratio"):
        conn.download_bytes("bucket", "zeros")
    # Streaming is never refused by the ratio: it costs no memory.
    sink = NullSink()
    conn.download_fileobj("bucket", "zeros", sink)
    assert sink.count == len(data)


def test_in_memory_guard_is_configurable(make_conn: Callable[..., s3po.Connection]) -> None:
    data = bytes(80 * MIB)
    relaxed = make_conn(config=s3po.TransferConfig(max_expansion_ratio=None))
    _put(relaxed, "zeros", _zstd(data), "zstd")
    assert relaxed.download_bytes("bucket", "zeros") == data
    strict = make_conn(config=s3po.TransferConfig(max_expansion_ratio=2))
    text = bytes(range(256)) * (MIB // 2)  # 128 MiB that gzip shrinks about 200 times
    strict.upload_string("bucket", "text", text, compress="gzip")
    with pytest.raises(s3po.CorruptData, match="max_expansion_ratio"):
        strict.download_bytes("bucket", "text")


def test_in_memory_guard_applies_to_objects_with_a_checksum(conn: s3po.Connection) -> None:
    data = bytes(80 * MIB)
    conn.upload_string("bucket", "zeros", data, compress="zstd")  # stores s3po-xxh128
    with pytest.raises(s3po.CorruptData, match="max_expansion_ratio"):
        conn.download_bytes("bucket", "zeros")


def test_ordinary_compressible_data_is_not_refused_in_memory(conn: s3po.Connection) -> None:
    # 64 MiB of zeros through zstd expands tens of thousands of times: under the floor.
    data = bytes(64 * MIB)
    conn.upload_string("bucket", "zeros", data, compress="zstd")
    assert conn.download_bytes("bucket", "zeros") == data
    text = b"2024-01-01 INFO request served in 3ms\n" * 3_000_000
    conn.upload_string("bucket", "log", text, compress="gzip")
    assert conn.download_bytes("bucket", "log") == text


@pytest.mark.parametrize("layers", [MAX_ENCODING_LAYERS + 1, 50])
def test_too_many_stacked_encodings_is_a_typed_error(
    conn: s3po.Connection, tmp_path: Path, layers: int
) -> None:
    body = gzip.compress(b"hello", mtime=0)
    _put(conn, "deep", body, ", ".join(["gzip"] * layers))
    for attempt in (
        lambda: conn.download_bytes("bucket", "deep"),
        lambda: conn.download_file("bucket", "deep", tmp_path / "deep.bin"),
    ):
        with pytest.raises(s3po.CorruptData) as info:
            attempt()
        message = str(info.value)
        assert f"{layers} encodings" in message
        assert f"at most {MAX_ENCODING_LAYERS}" in message
        assert "decompress=False" in message
        assert info.value.key == "deep"
    assert not (tmp_path / "deep.bin").exists()
    assert conn.download_bytes("bucket", "deep", decompress=False) == body


def test_the_most_stacked_encodings_allowed_decode(conn: s3po.Connection) -> None:
    body = b"nested"
    for _ in range(MAX_ENCODING_LAYERS):
        body = gzip.compress(body, mtime=0)
    _put(conn, "deep", body, ", ".join(["gzip"] * MAX_ENCODING_LAYERS))
    assert conn.download_bytes("bucket", "deep") == b"nested"
