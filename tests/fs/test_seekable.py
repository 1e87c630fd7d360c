"""Seekable zstd: the format (decoded whole by other readers) and reads of only the frames."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import zstandard
from s3po_codecs.zstd import SeekableZstdCodec, parse_seek_table

import s3po
from s3po.frames import FrameIndex as SeekTable
from s3po.fs import S3poFileSystem

MIB = 1024 * 1024


def _content(size: int, seed: int = 7) -> bytes:
    """Text that compresses about 3:1, so frames have real sizes."""
    rng = random.Random(seed)
    words = [rng.randbytes(rng.randint(2, 9)).hex().encode() for _ in range(5000)]
    out = bytearray()
    while len(out) < size:
        out += b" ".join(rng.choices(words, k=64)) + b"\n"
    return bytes(out[:size])


def _encode(data: bytes, frame_size: int) -> bytes:
    encoder = SeekableZstdCodec(frame_size=frame_size).encoder()
    step = 10_000
    parts = [encoder.encode(data[i : i + step]) for i in range(0, len(data), step)]
    return b"".join(parts) + encoder.flush()


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 3 * 4096, 50_000])
def test_the_format_decodes_whole_with_zstandard_and_s3po(size: int) -> None:
    data = _content(size)
    stored = _encode(data, 4096)
    reader = zstandard.ZstdDecompressor().stream_reader(stored, read_across_frames=True)
    assert reader.read() == data
    decoder = SeekableZstdCodec().decoder()
    assert decoder.decode(stored) + decoder.flush() == data
    table = parse_seek_table(stored, len(stored))
    assert isinstance(table, SeekTable)
    assert table.size == size
    assert len(table.frames) == -(-size // 4096)
    assert all(f.decoded_size == 4096 for f in table.frames[:-1])
    for frame in table.frames:  # each frame decodes on its own
        raw = stored[frame.offset : frame.offset + frame.size]
        content = zstandard.ZstdDecompressor().decompress(raw)
        start = frame.decoded_offset
        assert content == data[start : start + frame.decoded_size]


def test_plain_zstd_has_no_seek_table() -> None:
    stored = zstandard.ZstdCompressor().compress(b"x" * 1000)
    assert parse_seek_table(stored, len(stored)) is None


def test_a_table_that_does_not_match_the_object_is_corrupt() -> None:
    stored = _encode(_content(20_000), 4096)
    with pytest.raises(s3po.CorruptData):
        parse_seek_table(b"\0" + stored, len(stored) + 1)


def test_frame_size_is_bounded() -> None:
    with pytest.raises(s3po.ConfigError):
        SeekableZstdCodec(frame_size=0)


@dataclass
class Stats:
    gets: list[tuple[int, int | None]] = field(default_factory=list)
    moved: int = 0


class Counting(s3po.ForwardingBackend):
    def __init__(self, inner: s3po.Backend, stats: Stats) -> None:
        super().__init__(inner)
        self.stats = stats

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> s3po.GetResult:
        result = self.inner.get(bucket, key, start=start, end=end, if_match=if_match)
        self.stats.gets.append((start, end))
        self.stats.moved += (end if end is not None else result.info.size) - start
        return result


@pytest.fixture
def stats() -> Stats:
    return Stats()


@pytest.fixture
def fs(tmp_path: Path, stats: Stats) -> Iterator[S3poFileSystem]:
    config = s3po.TransferConfig(middleware=(lambda inner: Counting(inner, stats),))
    fs = S3poFileSystem("local", root=tmp_path, config=config, skip_instance_cache=True)
    fs.mkdir("bucket")
    yield fs
    fs.conn.close()


def test_a_seek_reads_the_table_and_the_frames_it_needs(fs: S3poFileSystem, stats: Stats) -> None:
    data = _content(8 * MIB)
    fs.pipe("bucket/k", data, compress="zstd-seekable")
    info = fs.info("bucket/k")
    assert info["ContentEncoding"] == "zstd"
    assert info["seekable"]
    stored = info["size"]
    stats.gets.clear()
    with fs.open("bucket/k") as f:
        f.seek(6 * MIB + 100)
        assert f.read(MIB) == data[6 * MIB + 100 : 7 * MIB + 100]
        assert f.read(10) == data[7 * MIB + 100 : 7 * MIB + 110]  # the frame held
        assert f.size == len(data)
    tail, frames = stats.gets
    assert tail == (max(0, stored - 64 * 1024), stored)
    assert frames[1] is not None
    # frames 6 and 7 of 8: a quarter of the object, not all of it
    assert (frames[1] - frames[0]) < stored * 0.3
    assert stats.moved < stored * 0.4


def test_reading_from_the_start_streams_and_verifies(fs: S3poFileSystem, stats: Stats) -> None:
    data = _content(3 * MIB)
    fs.pipe("bucket/k", data, compress="zstd-seekable")
    stats.gets.clear()
    with fs.open("bucket/k") as f:
        assert f.read() == data
    assert stats.gets == [(0, None)]  # one GET, decoded and checked against s3po-xxh128


def test_a_damaged_frame_is_refused(fs: S3poFileSystem) -> None:
    data = _content(3 * MIB)
    stored = bytearray(_encode(data, MIB))
    table = parse_seek_table(bytes(stored), len(stored))
    assert isinstance(table, SeekTable)
    middle = table.frames[1]
    stored[middle.offset + middle.size // 2] ^= 0xFF
    fs.conn.upload_string(
        "bucket", "k", bytes(stored), compress=None, headers={"Content-Encoding": "zstd"}
    )
    with fs.open("bucket/k") as f:
        f.seek(MIB + 10)
        with pytest.raises(s3po.CorruptData):
            f.read(100)


def test_plain_zstd_seeks_by_decoding(fs: S3poFileSystem) -> None:
    data = _content(MIB)
    fs.pipe("bucket/k", data, compress="zstd")
    with fs.open("bucket/k") as f:
        f.seek(700_000)
        assert f.read(1000) == data[700_000:701_000]
        f.seek(5)
        assert f.read(5) == data[5:10]
