"""keep_mtime: a file's size and mtime go up with it and come back down.

The record is taken from the upload's own fstat of the open file, so it describes the bytes
sent; the download sets the mtime on the temporary file before the rename, so the file is
never seen in place with another mtime.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import s3po
from s3po.backend.sinks import FileSink
from s3po.mtimes import META_MTIME, META_SIZE, object_mtime

KIB = 1024


@pytest.mark.parametrize("size", [0, 10 * KIB, 300 * KIB], ids=["empty", "held", "multipart"])
def test_an_upload_records_the_size_and_mtime_stat_gives(
    pconn: s3po.Connection, tmp_path: Path, size: int
) -> None:
    source = tmp_path / "f.bin"
    source.write_bytes(os.urandom(size))
    os.utime(source, ns=(0, 1_700_000_000_123_456_789))
    pconn.upload_file("bucket", "k", source, keep_mtime=True, metadata={"other": "kept"})
    st = source.stat()
    meta = pconn.head("bucket", "k").headers.metadata
    assert meta[META_SIZE] == str(size)
    assert meta[META_MTIME] == repr(st.st_mtime)
    assert meta["other"] == "kept"


def test_without_keep_mtime_nothing_is_recorded(pconn: s3po.Connection, tmp_path: Path) -> None:
    source = tmp_path / "f.bin"
    source.write_bytes(b"body")
    pconn.upload_file("bucket", "k", source)
    meta = pconn.head("bucket", "k").headers.metadata
    assert META_SIZE not in meta
    assert META_MTIME not in meta


@pytest.mark.parametrize("size", [10 * KIB, 300 * KIB], ids=["one-get", "ranged"])
def test_a_download_gets_the_recorded_mtime(
    pconn: s3po.Connection, tmp_path: Path, size: int
) -> None:
    source = tmp_path / "f.bin"
    content = os.urandom(size)
    source.write_bytes(content)
    os.utime(source, ns=(0, 1_600_000_000_500_000_000))
    pconn.upload_file("bucket", "k", source, keep_mtime=True)
    target = tmp_path / "out" / "f.bin"
    pconn.download_file("bucket", "k", target, keep_mtime=True)
    assert target.read_bytes() == content
    assert target.stat().st_mtime == pytest.approx(source.stat().st_mtime, abs=1e-6)


def test_without_a_record_the_file_gets_the_objects_last_modified(
    pconn: s3po.Connection, tmp_path: Path
) -> None:
    pconn.upload_string("bucket", "k", "body")
    info = pconn.head("bucket", "k")
    expected = object_mtime(info)
    assert expected is not None
    target = tmp_path / "f.txt"
    pconn.download_file("bucket", "k", target, keep_mtime=True)
    assert target.stat().st_mtime == pytest.approx(expected, abs=1e-3)


def test_without_keep_mtime_the_file_is_as_new(pconn: s3po.Connection, tmp_path: Path) -> None:
    source = tmp_path / "f.bin"
    source.write_bytes(b"body")
    os.utime(source, (1_000_000_000, 1_000_000_000))
    pconn.upload_file("bucket", "k", source, keep_mtime=True)
    target = tmp_path / "g.bin"
    pconn.download_file("bucket", "k", target)
    assert target.stat().st_mtime > 1_000_000_000 + 1


def test_the_mtime_is_set_before_the_file_is_in_place(
    pconn: s3po.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "f.bin"
    source.write_bytes(b"body")
    os.utime(source, (1_000_000_000, 1_000_000_000))
    pconn.upload_file("bucket", "k", source, keep_mtime=True)
    target = tmp_path / "g.bin"
    seen: list[float] = []
    real = os.replace

    def watch(src: str, dst: object) -> None:
        seen.append(Path(src).stat().st_mtime)
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", watch)
    pconn.download_file("bucket", "k", target, keep_mtime=True)
    assert seen == [1_000_000_000]


def _refuse(*_args: object, **_kwargs: object) -> None:
    raise PermissionError(1, "Operation not permitted")


@pytest.mark.parametrize(
    ("owner", "name"), [(FileSink, "_settle"), (os, "utime")], ids=["mode", "mtime"]
)
def test_a_failed_last_step_leaves_the_old_file_and_no_temporary_one(
    pconn: s3po.Connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    owner: object,
    name: str,
) -> None:
    pconn.upload_string("bucket", "k", "new")
    target = tmp_path / "f.txt"
    target.write_text("old")
    monkeypatch.setattr(owner, name, _refuse)
    with pytest.raises(s3po.LocalFileError, match=r"f\.txt"):
        pconn.download_file("bucket", "k", target, keep_mtime=True)
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".s3po-part")] == []
