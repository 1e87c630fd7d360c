"""Raw Python errors never escape a call: each becomes an s3po error naming the object.

A full disk while a download is written, a misspelt keyword, text that does not decode, an
unknown charset, and a body shorter than the size the store reported (fsspec backend).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import s3po


@pytest.fixture
def memory() -> Iterator[s3po.Connection]:
    """A Connection on a fresh fsspec ``memory://`` filesystem (its bodies write with pwrite)."""
    import fsspec.implementations.memory  # noqa: PLC0415

    fs = fsspec.implementations.memory.MemoryFileSystem()
    fs.store.clear()
    fs.pseudo_dirs.clear()
    retry = s3po.RetryConfig(retries=2, base=0.0)
    with s3po.Connection("fsspec", fs=fs, config=s3po.TransferConfig(retry=retry)) as conn:
        conn.create_bucket("bucket")
        yield conn


def test_a_full_disk_is_a_transfer_error_naming_path_and_object(
    memory: s3po.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory.upload_string("bucket", "big.bin", b"x" * 100_000)
    target = tmp_path / "out.bin"
    target.write_bytes(b"the old content")

    def full(fd: int, data: Any, offset: int) -> int:  # noqa: ARG001
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", full)
    with pytest.raises(s3po.LocalFileError) as caught:
        memory.download_file("bucket", "big.bin", target)
    assert isinstance(caught.value, OSError)  # code that caught the OS's error still does
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.path == str(target)
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.__cause__.errno == errno.ENOSPC
    assert str(target) in str(caught.value)
    assert "s3://bucket/big.bin" in str(caught.value)
    assert "No space left" in str(caught.value)
    assert target.read_bytes() == b"the old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]  # no temporary file


def test_backend_errors_pass_through_the_local_file_mapping(
    memory: s3po.Connection, tmp_path: Path
) -> None:
    with pytest.raises(s3po.NoSuchKey):  # a FileNotFoundError too, but not the disk's
        memory.download_file("bucket", "missing", tmp_path / "out.bin")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("call", "typo", "meant"),
    [
        ("upload_string", "compresss", "compress"),
        ("download_bytes", "retris", "retries"),
        ("download_file", "progres", "progress"),
    ],
)
def test_an_unknown_keyword_is_typed_and_suggests_the_right_one(
    memory: s3po.Connection, tmp_path: Path, call: str, typo: str, meant: str
) -> None:
    args: dict[str, tuple[Any, ...]] = {
        "upload_string": ("bucket", "k", "x"),
        "download_bytes": ("bucket", "k"),
        "download_file": ("bucket", "k", tmp_path / "f"),
    }
    with pytest.raises(s3po.UnknownArgument, match=f"did you mean {meant}=") as caught:
        getattr(memory, call)(*args[call], **{typo: 1})
    assert isinstance(caught.value, TypeError)
    assert isinstance(caught.value, s3po.InvalidRequest)
    assert call in str(caught.value)
    assert memory.list_names("bucket") == []  # refused before any I/O


def test_undecodable_text_names_the_object_and_points_to_download_bytes(
    memory: s3po.Connection,
) -> None:
    memory.upload_string("bucket", "bin", b"\xff\xfe\xfa binary", headers={"Content-Type": "x/y"})
    with pytest.raises(s3po.CorruptData, match="download_bytes") as caught:
        memory.download_string("bucket", "bin")
    assert caught.value.key == "bin"
    assert "s3://bucket/bin" in str(caught.value)
    assert isinstance(caught.value.__cause__, UnicodeDecodeError)
    assert memory.download_bytes("bucket", "bin") == b"\xff\xfe\xfa binary"


def test_an_unknown_charset_names_the_object(memory: s3po.Connection) -> None:
    headers = {"Content-Type": "text/plain; charset=klingon"}
    memory.upload_string("bucket", "t", "qapla'", headers=headers)
    with pytest.raises(s3po.CorruptData, match="klingon") as caught:
        memory.download_string("bucket", "t")
    assert "s3://bucket/t" in str(caught.value)
    assert "download_bytes" in str(caught.value)
    assert memory.download_string("bucket", "t", encoding="ascii") == "qapla'"


def test_an_unknown_encoding_argument_is_refused_before_any_io(memory: s3po.Connection) -> None:
    with pytest.raises(s3po.InvalidRequest, match="klingon"):
        memory.download_string("bucket", "never-read", encoding="klingon")


def test_an_fsspec_body_shorter_than_its_record_is_resumed_then_fails(
    memory: s3po.Connection,
) -> None:
    memory.upload_string("bucket", "k", b"y" * 10_000)
    fs = memory.backend.fs  # type: ignore[attr-defined]
    fs.pipe_file("bucket/k", b"y" * 4_000)  # the file lost its tail; the record says 10,000
    with pytest.raises(s3po.RetriesExhausted, match="early") as caught:
        memory.download_bytes("bucket", "k")
    assert isinstance(caught.value.last_exception, s3po.TransientError)
    assert caught.value.last_exception.key == "k"
    assert caught.value.last_exception.backend == "fsspec"


def test_an_fsspec_body_never_returns_more_than_the_record_says(
    memory: s3po.Connection,
) -> None:
    memory.upload_string("bucket", "k", b"z" * 1_000, compress=None)
    fs = memory.backend.fs  # type: ignore[attr-defined]
    original = fs.cat_file

    def generous(path: str, start: int | None = None, end: int | None = None) -> bytes:
        data = bytes(original(path, start=start, end=end))
        return data if ".s3po" in path else data + b"junk past the end"

    fs.cat_file = generous
    assert memory.download_bytes("bucket", "k", decompress=False) == b"z" * 1_000
