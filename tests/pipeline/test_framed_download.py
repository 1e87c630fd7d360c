"""Whole downloads of framed objects: frame-aligned ranges fetched and decoded in parallel."""

from __future__ import annotations

import gzip
import itertools
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3po_local import LocalBackend

import s3po

MIB = 1024 * 1024
CODECS = ["gzip-seekable", "zstd-seekable"]


def _content(size: int, seed: int = 5) -> bytes:
    rng = random.Random(seed)
    words = [rng.randbytes(rng.randint(2, 9)).hex().encode() for _ in range(3000)]
    out = bytearray()
    while len(out) < size:
        out += b" ".join(rng.choices(words, k=64)) + b"\n"
    return bytes(out[:size])


class Recording(LocalBackend):
    """The local backend, noting every GET's range and the thread that made it."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gets: list[tuple[int, int | None, str]] = []
        self._lock = threading.Lock()

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> s3po.GetResult:
        with self._lock:
            self.gets.append((start, end, threading.current_thread().name))
        return super().get(bucket, key, start=start, end=end, if_match=if_match)


@pytest.fixture
def store(tmp_path: Path) -> Recording:
    return Recording(tmp_path / "store")


@pytest.fixture
def conn(store: Recording, registries: s3po.Registries) -> Iterator[s3po.Connection]:
    chunk = s3po.ChunkConfig(threshold=MIB, part_size=5 * MIB, max_concurrency=4)
    config = s3po.TransferConfig(chunk=chunk)
    with s3po.Connection(backend=store, registries=registries, config=config) as c:
        c.create_bucket("bucket")
        yield c


def _frame_gets(store: Recording) -> list[tuple[int, int | None, str]]:
    """The GETs after the opening one and the index's tail."""
    return [g for g in store.gets[2:] if g[1] is not None]


@pytest.mark.parametrize("codec", CODECS)
def test_a_file_download_decodes_frames_in_parallel(
    conn: s3po.Connection, store: Recording, codec: str, tmp_path: Path
) -> None:
    data = _content(16 * MIB)
    conn.upload_string("bucket", "k", data, compress=codec)
    stored = conn.head("bucket", "k").size
    store.gets.clear()
    dest = tmp_path / "out.txt"
    result = conn.download_file("bucket", "k", str(dest))
    assert dest.read_bytes() == data
    assert result.size == len(data)
    opening, tail, *frames = store.gets
    assert opening[:2] == (0, None)
    assert tail[1] == stored  # the index, from the object's tail
    assert len(frames) >= 2  # frame-aligned ranges, not one stream
    assert all(name.startswith("s3po-io") for _, _, name in frames)
    covered = sorted((lo, hi) for lo, hi, _ in frames)
    assert covered[0][0] == 0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(covered))


@pytest.mark.parametrize("codec", CODECS)
def test_download_bytes_decodes_frames_in_parallel(
    conn: s3po.Connection, store: Recording, codec: str
) -> None:
    data = _content(12 * MIB)
    conn.upload_string("bucket", "k", data, compress=codec)
    store.gets.clear()
    assert conn.download_bytes("bucket", "k") == data
    assert len(_frame_gets(store)) >= 2


def test_a_wrong_content_checksum_is_still_caught(conn: s3po.Connection, tmp_path: Path) -> None:
    data = _content(4 * MIB)
    encoder = conn.transfer.codecs.get("gzip-seekable").encoder()
    stored = encoder.encode(data) + encoder.flush()
    wrong = "0" * 32
    conn.upload_string(
        "bucket",
        "k",
        stored,
        compress=None,
        headers={"Content-Encoding": "gzip", "x-amz-meta-s3po-xxh128": wrong},
    )
    dest = tmp_path / "out.txt"
    with pytest.raises(s3po.CorruptData, match="checksum"):
        conn.download_file("bucket", "k", str(dest))
    assert not dest.exists()
    assert list(tmp_path.glob(".out.txt.*")) == []
    with pytest.raises(s3po.CorruptData, match="checksum"):
        conn.download_bytes("bucket", "k")


def test_a_damaged_frame_fails_the_download(conn: s3po.Connection, tmp_path: Path) -> None:
    data = _content(4 * MIB)
    encoder = conn.transfer.codecs.get("gzip-seekable").encoder()
    stored = bytearray(encoder.encode(data) + encoder.flush())
    stored[len(stored) // 2] ^= 0xFF
    conn.upload_string(
        "bucket", "k", bytes(stored), compress=None, headers={"Content-Encoding": "gzip"}
    )
    dest = tmp_path / "out.txt"
    with pytest.raises(s3po.CorruptData):
        conn.download_file("bucket", "k", str(dest))
    assert not dest.exists()


def test_plain_gzip_downloads_in_order(conn: s3po.Connection, store: Recording) -> None:
    data = _content(3 * MIB)
    conn.upload_string("bucket", "k", data, compress="gzip")
    store.gets.clear()
    assert conn.download_bytes("bucket", "k") == data
    assert _frame_gets(store) == []  # the tail, then the ranges of the stored stream
    assert gzip.decompress(conn.download_bytes("bucket", "k", decompress=False)) == data


def test_the_bomb_guard_applies_to_the_indexed_size(
    store: Recording, registries: s3po.Registries
) -> None:
    chunk = s3po.ChunkConfig(threshold=MIB, part_size=5 * MIB)
    config = s3po.TransferConfig(chunk=chunk, max_decompressed_size=5 * MIB)
    with s3po.Connection(backend=store, registries=registries, config=config) as conn:
        conn.create_bucket("bucket")
        conn.upload_string("bucket", "k", _content(6 * MIB), compress="zstd-seekable")
        with pytest.raises(s3po.CorruptData, match="max_decompressed_size"):
            conn.download_bytes("bucket", "k")
