"""S3poFileSystem beyond fsspec's abstract suite: encodings, checksums, ranges, paths."""

from __future__ import annotations

import gzip
import io
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import pytest
from upath import UPath

import s3po
from s3po.fs import S3poFileSystem


@dataclass
class Stats:
    """The GETs that reached the stack, and the stored bytes they returned."""

    gets: list[tuple[int, int | None]] = field(default_factory=list)
    moved: int = 0


class Counting(s3po.ForwardingBackend):
    """Counts into ``stats`` (a layer is built for every call; the stats are shared)."""

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
        self.stats.moved += (result.end if end is not None else result.info.size) - start
        return result


@pytest.fixture
def stats() -> Stats:
    return Stats()


@pytest.fixture
def fs(tmp_path: Path, stats: Stats) -> Iterator[S3poFileSystem]:
    def layer(inner: s3po.Backend) -> s3po.Backend:
        return Counting(inner, stats)

    config = s3po.TransferConfig(middleware=(layer,))
    fs = S3poFileSystem("local", root=tmp_path / "store", config=config, skip_instance_cache=True)
    fs.mkdir("bucket")
    yield fs
    fs.conn.close()


def test_fsspec_finds_the_protocol_through_its_entry_point(tmp_path: Path) -> None:
    conn = s3po.Connection("local", root=tmp_path)
    conn.create_bucket("bucket")
    conn.upload_string("bucket", "t.csv", "a,b\n1,2\n", compress="gzip")
    with fsspec.open("s3po://bucket/t.csv", "rt", backend="local", root=tmp_path) as f:
        assert f.read() == "a,b\n1,2\n"
    assert fsspec.get_filesystem_class("s3po") is S3poFileSystem


def test_info_reports_the_stored_size_and_the_decoded_one(fs: S3poFileSystem) -> None:
    data = b"hello world " * 1000
    fs.pipe("bucket/a/t.txt", data, compress="gzip")
    info = fs.info("s3po://bucket/a/t.txt")
    head = fs.conn.head("bucket", "a/t.txt")
    assert info["type"] == "file"
    assert info["size"] == head.size < len(data)
    assert info["decoded_size"] == len(data)
    assert info["ContentEncoding"] == "gzip"
    assert info["ETag"] == head.etag
    assert fs.cat("bucket/a/t.txt") == data
    assert fs.info("bucket/a") == {"name": "bucket/a", "type": "directory", "size": 0}
    # Written by another client without the size recorded: the decoded size is unknown,
    # and a file finds it by decoding.
    fs.conn.upload_string("bucket", "b.txt", data, compress="gzip")
    assert fs.info("bucket/b.txt")["decoded_size"] is None
    with fs.open("bucket/b.txt") as f:
        assert f.seek(0, io.SEEK_END) == len(data)


def test_an_object_stored_as_is_has_its_size_as_the_decoded_size(fs: S3poFileSystem) -> None:
    fs.pipe("bucket/plain", b"12345")
    info = fs.info("bucket/plain")
    assert info["size"] == info["decoded_size"] == 5
    assert info["ContentEncoding"] is None


def test_missing_paths_raise_file_not_found(fs: S3poFileSystem) -> None:
    with pytest.raises(FileNotFoundError):
        fs.info("bucket/nope")
    with pytest.raises(FileNotFoundError):
        fs.open("bucket/nope", "rb")
    with pytest.raises(FileNotFoundError):
        fs.cat("bucket/nope")
    with pytest.raises(FileNotFoundError):
        fs.ls("no-such-bucket")
    assert not fs.exists("bucket/nope")


def test_reads_verify_the_s3po_checksum(fs: S3poFileSystem) -> None:
    fs.pipe("bucket/plain", b"the content")
    fs.pipe("bucket/packed", b"the content" * 100, compress="zstd")
    for key in ("plain", "packed"):
        stored = fs.conn.head("bucket", key).headers.metadata
        wrong = {**stored, "s3po-xxh128": "0" * 32}
        fs.conn.copy("bucket", key, "bucket", key, metadata=wrong)
        with pytest.raises(s3po.CorruptData):
            fs.cat(f"bucket/{key}")
        with pytest.raises(s3po.CorruptData), fs.open(f"bucket/{key}") as f:
            f.read()


def test_random_reads_of_an_object_stored_as_is_are_ranged(
    fs: S3poFileSystem, stats: Stats
) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    fs.pipe("bucket/big", data)
    stats.gets.clear()
    with fs.open("bucket/big", block_size=4096, cache_type="none") as f:
        f.seek(500_000)
        assert f.read(100) == data[500_000:500_100]
    assert stats.gets == [(500_000, 500_100)]
    assert fs.cat_file("bucket/big", start=-10) == data[-10:]


def test_seeking_in_an_encoded_object_decodes(fs: S3poFileSystem) -> None:
    data = b"".join(b"line %d\n" % i for i in range(20_000))
    fs.pipe("bucket/lines.gz", data, compress="gzip")
    with fs.open("bucket/lines.gz") as f:
        f.seek(100_000)
        assert f.read(50) == data[100_000:100_050]
        f.seek(10)  # backwards: reopened
        assert f.read(5) == data[10:15]
        assert f.seek(-7, io.SEEK_END) == len(data) - 7
        assert f.read() == data[-7:]
        assert f.read(3) == b""


def test_writes_take_compress_and_set_content_encoding(fs: S3poFileSystem) -> None:
    with fs.open("bucket/w.csv", "wb", compress="gzip") as f:
        f.write(b"x,y\n" * 10_000)
    head = fs.conn.head("bucket", "w.csv")
    assert head.headers.content_encoding == "gzip"
    assert gzip.decompress(fs.conn.download_bytes("bucket", "w.csv", decompress=False)) == (
        b"x,y\n" * 10_000
    )
    with fs.open("bucket/w.txt", "w", compress="zstd") as t:
        t.write("text")
    assert fs.conn.head("bucket", "w.txt").headers.content_encoding == "zstd"
    assert fs.cat("bucket/w.txt") == b"text"


def test_a_filesystem_default_codec_applies_to_every_write(tmp_path: Path) -> None:
    fs = S3poFileSystem("local", root=tmp_path, compress="zstd", skip_instance_cache=True)
    fs.mkdir("bucket")
    fs.pipe("bucket/a", b"a" * 100)
    local = tmp_path / "f.txt"
    local.write_bytes(b"b" * 100)
    fs.put(str(local), "bucket/b")
    for key in ("a", "b"):
        assert fs.info(f"bucket/{key}")["ContentEncoding"] == "zstd"
    fs.pipe("bucket/c", b"c", compress=None)
    assert fs.info("bucket/c")["ContentEncoding"] is None


def test_a_transaction_stores_nothing_until_it_commits(fs: S3poFileSystem) -> None:
    with fs.transaction:
        with fs.open("bucket/t", "wb") as f:
            f.write(b"data")
        assert not fs.exists("bucket/t")
    assert fs.cat("bucket/t") == b"data"

    def abandoned() -> None:
        with fs.transaction, fs.open("bucket/u", "wb") as f:
            f.write(b"data")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        abandoned()
    assert not fs.exists("bucket/u")


def test_the_filesystem_pickles_as_its_options(tmp_path: Path) -> None:
    fs = S3poFileSystem("local", root=tmp_path, skip_instance_cache=True)
    fs.mkdir("bucket")
    fs.pipe("bucket/k", b"v")
    copy: Any = pickle.loads(pickle.dumps(fs))  # noqa: S301 - our own pickle
    assert copy.cat("bucket/k") == b"v"


def test_universal_pathlib_paths(tmp_path: Path) -> None:
    options: dict[str, Any] = {"backend": "local", "root": str(tmp_path)}
    S3poFileSystem(**options).mkdir("bucket")
    folder = UPath("s3po://bucket/data", **options)
    (folder / "a.txt").write_text("hello")
    path = UPath("s3po://bucket/data/a.txt", **options)
    assert path.read_text() == "hello"
    assert path.exists()
    assert [p.name for p in folder.iterdir()] == ["a.txt"]
    assert path.parent.path.rstrip("/") == "bucket/data"


def test_listing_buckets_is_refused_with_a_reason(fs: S3poFileSystem) -> None:
    with pytest.raises(NotImplementedError, match="inside a bucket"):
        fs.ls("")


def test_append_is_refused(fs: S3poFileSystem) -> None:
    with pytest.raises(NotImplementedError, match="'ab'"):
        fs.open("bucket/x", "ab")
