"""Seekable gzip: every gzip reader decodes it whole; s3po seeks with its index."""

from __future__ import annotations

import gzip
import random
import shutil
import subprocess
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from s3po_codecs.gzip import GzipCodec, SeekableGzipCodec
from s3po_codecs.gzip_index import FOOTER_SIZE, parse_gzip_index

import s3po
from s3po.frames import FrameIndex
from s3po.fs import S3poFileSystem

from .test_seekable import Counting, Stats, _content

MIB = 1024 * 1024


def _encode(data: bytes, member_size: int) -> bytes:
    encoder = SeekableGzipCodec(member_size=member_size).encoder()
    step = 10_000
    parts = [encoder.encode(data[i : i + step]) for i in range(0, len(data), step)]
    return b"".join(parts) + encoder.flush()


def _zlib_multi_member(stored: bytes) -> bytes:
    out, rest = [], stored
    while rest:
        d = zlib.decompressobj(zlib.MAX_WBITS | 16)
        out.append(d.decompress(rest))
        assert d.eof
        rest = d.unused_data
    return b"".join(out)


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 3 * 4096, 50_000])
def test_the_format_decodes_whole_with_gzip_readers_and_s3po(size: int) -> None:
    data = _content(size)
    stored = _encode(data, 4096)
    assert gzip.decompress(stored) == data
    assert _zlib_multi_member(stored) == data
    decoder = GzipCodec().decoder()
    assert decoder.decode(stored) + decoder.flush() == data
    index = parse_gzip_index(stored, len(stored))
    assert isinstance(index, FrameIndex)
    assert index.size == size
    assert len(index.frames) == -(-size // 4096)
    assert all(f.decoded_size == 4096 for f in index.frames[:-1])
    for frame in index.frames:  # each member decodes on its own
        raw = stored[frame.offset : frame.end]
        start = frame.decoded_offset
        assert gzip.decompress(raw) == data[start : start + frame.decoded_size]
        assert GzipCodec().decode_frame(raw, frame) == gzip.decompress(raw)


@pytest.mark.skipif(shutil.which("gzip") is None, reason="needs the gzip program")
def test_the_gzip_program_decodes_it(tmp_path: Path) -> None:
    data = _content(300_000)
    path = tmp_path / "t.gz"
    path.write_bytes(_encode(data, 64 * 1024))
    done = subprocess.run(
        [shutil.which("gzip") or "gzip", "-dc", str(path)], capture_output=True, check=True
    )
    assert done.stdout == data
    assert done.stderr == b""


def test_an_index_larger_than_one_member_and_than_the_tail() -> None:
    data = bytes(range(256)) * 40 * 1024  # 10 MiB; 100-byte members: 104,858 entries
    stored = _encode(data, 100)
    tail = stored[-64 * 1024 :]
    parsed = parse_gzip_index(tail, len(stored))
    assert isinstance(parsed, tuple)
    start, end = parsed
    index = parse_gzip_index(stored[start:end], len(stored))
    assert isinstance(index, FrameIndex)
    assert index.size == len(data)
    assert len(index.frames) == -(-len(data) // 100)


def test_plain_gzip_has_no_index() -> None:
    stored = gzip.compress(b"x" * 1000)
    assert parse_gzip_index(stored, len(stored)) is None
    assert parse_gzip_index(b"", 0) is None


def test_member_size_is_bounded() -> None:
    with pytest.raises(s3po.ConfigError):
        SeekableGzipCodec(member_size=0)


def _damaged_footer(stored: bytes) -> bytes:
    """The footer's index offset moved by one byte (its CRC-free header is not checked)."""
    out = bytearray(stored)
    at = len(out) - FOOTER_SIZE + 10 + 2 + 4 + 1  # header, XLEN, subfield header, kind
    out[at] ^= 0x01
    return bytes(out)


def _damaged_entry(stored: bytes) -> bytes:
    """One entry's stored size changed (the sums then disagree with the footer)."""
    index = parse_gzip_index(stored, len(stored))
    assert isinstance(index, FrameIndex)
    out = bytearray(stored)
    out[index.frames[-1].end + 10 + 2 + 4 + 1] ^= 0x01  # the first entry's low byte
    return bytes(out)


@pytest.mark.parametrize("damage", [_damaged_footer, _damaged_entry])
def test_a_damaged_index_is_corrupt(damage: Any) -> None:
    stored = damage(_encode(_content(20_000), 4096))
    with pytest.raises(s3po.CorruptData):
        parse_gzip_index(stored, len(stored))


def test_an_index_claiming_more_than_the_object_is_corrupt() -> None:
    stored = _encode(_content(20_000), 4096)
    with pytest.raises(s3po.CorruptData):
        parse_gzip_index(stored[-FOOTER_SIZE:], FOOTER_SIZE)


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


def _random_reads(fs: S3poFileSystem, path: str, data: bytes, seed: int) -> None:
    rng = random.Random(seed)
    with fs.open(path) as f:
        for _ in range(25):
            pos = rng.randrange(len(data))
            n = rng.choice([1, 100, 70_000, 300_000])
            f.seek(pos)
            assert f.read(n) == data[pos : pos + n], (pos, n)
        f.seek(-10, 2)
        assert f.read() == data[-10:]


def test_seeks_read_the_index_and_the_members_they_need(fs: S3poFileSystem, stats: Stats) -> None:
    data = _content(8 * MIB)
    fs.pipe("bucket/k", data, compress="gzip-seekable")
    info = fs.info("bucket/k")
    assert info["ContentEncoding"] == "gzip"
    assert info["seekable"]
    stored = info["size"]
    stats.gets.clear()
    with fs.open("bucket/k") as f:
        f.seek(6 * MIB + 100)
        assert f.read(MIB) == data[6 * MIB + 100 : 7 * MIB + 100]
        assert f.size == len(data)
    tail, members = stats.gets
    assert tail == (max(0, stored - 64 * 1024), stored)
    assert members[1] is not None
    assert (members[1] - members[0]) < stored * 0.3  # members 6 and 7 of 8
    assert stats.moved < stored * 0.4
    _random_reads(fs, "bucket/k", data, seed=1)


def test_the_whole_object_downloads_as_gzip(fs: S3poFileSystem) -> None:
    data = _content(3 * MIB)
    fs.pipe("bucket/k", data, compress="gzip-seekable")
    assert fs.cat("bucket/k") == data
    stored = fs.conn.download_bytes("bucket", "k", decompress=False)
    assert gzip.decompress(stored) == data


def test_plain_gzip_opens_and_seeks_by_decoding(fs: S3poFileSystem) -> None:
    data = _content(2 * MIB)
    fs.pipe("bucket/k", data, compress="gzip")
    assert not fs.info("bucket/k")["seekable"]
    _random_reads(fs, "bucket/k", data, seed=2)


def test_a_damaged_index_in_the_store_is_refused(fs: S3poFileSystem) -> None:
    stored = _damaged_entry(_encode(_content(MIB), 64 * 1024))
    fs.conn.upload_string(
        "bucket", "k", stored, compress=None, headers={"Content-Encoding": "gzip"}
    )
    with fs.open("bucket/k") as f:
        f.seek(1000)
        with pytest.raises(s3po.CorruptData, match="gzip index"):
            f.read(10)


def test_a_damaged_member_is_refused(fs: S3poFileSystem) -> None:
    stored = bytearray(_encode(_content(MIB), 64 * 1024))
    index = parse_gzip_index(bytes(stored), len(stored))
    assert isinstance(index, FrameIndex)
    middle = index.frames[5]
    stored[middle.offset + middle.size // 2] ^= 0xFF
    fs.conn.upload_string(
        "bucket", "k", bytes(stored), compress=None, headers={"Content-Encoding": "gzip"}
    )
    with fs.open("bucket/k") as f:
        f.seek(middle.decoded_offset + 10)
        with pytest.raises(s3po.CorruptData):
            f.read(100)


@pytest.mark.integration
def test_random_seeks_on_moto(moto_server: Any) -> None:
    bucket = f"seek-{uuid.uuid4().hex[:8]}"
    moto_server.admin.create_bucket(Bucket=bucket)
    fs = S3poFileSystem("s3", skip_instance_cache=True, **moto_server.options())
    try:
        data = _content(3 * MIB, seed=3)
        fs.pipe(f"{bucket}/k", data, compress="gzip-seekable")
        assert fs.info(f"{bucket}/k")["seekable"]
        _random_reads(fs, f"{bucket}/k", data, seed=3)
    finally:
        fs.conn.close()
