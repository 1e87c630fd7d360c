"""A small file costs only the file-system calls it needs, and the rare cases stay right.

A batch of thousands of small files pays every ``stat``, ``mkdir`` and ``fchmod`` once per
file, each a trip through the kernel and a hand-over of the GIL. A download makes the folders
above its file only when the create finds one missing, sets no mode the new file already
has, and looks at its destination once before it starts; an upload does not ``stat`` a file
it is about to open. These tests count the calls, and check the cases those shortcuts must
still get right: a missing folder, a parent that is a file, a folder given as a file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import s3po
from s3po.backend.sources import HOLD_LIMIT, FileSource
from s3po.integrity import Checksum, content_hash
from s3po.transfer.sources import open_source

KIB = 1024


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[tuple[Any, ...]]:
    """Record every call of ``os.<name>`` (and still make it)."""
    calls: list[tuple[Any, ...]] = []
    real = getattr(os, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, counted)
    return calls


def test_downloads_into_an_existing_folder_make_no_folder_and_set_no_mode(
    pconn: s3po.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        pconn.upload_string("bucket", f"k{i}", f"body {i}")
    mkdirs = _counting(monkeypatch, "mkdir")
    fchmods = _counting(monkeypatch, "fchmod")
    with pconn.batch(3) as batch:
        for i in range(5):
            batch.download_file("bucket", f"k{i}", tmp_path / f"f{i}")
    assert [(tmp_path / f"f{i}").read_text() for i in range(5)] == [f"body {i}" for i in range(5)]
    assert mkdirs == []
    assert fchmods == []


def test_a_download_into_missing_folders_makes_them(pconn: s3po.Connection, tmp_path: Path) -> None:
    pconn.upload_string("bucket", "k", b"x" * (300 * KIB))  # ranged, as a large file is
    target = tmp_path / "a" / "b" / "c.bin"
    pconn.download_file("bucket", "k", target)
    assert target.read_bytes() == b"x" * (300 * KIB)
    assert sorted(p.name for p in target.parent.iterdir()) == ["c.bin"]


def test_a_download_below_a_file_is_a_local_error_and_leaves_the_file(
    pconn: s3po.Connection, tmp_path: Path
) -> None:
    pconn.upload_string("bucket", "k", "body")
    here = tmp_path / "here"  # tmp_path also holds the connection's store
    here.mkdir()
    blocker = here / "plain"
    blocker.write_text("keep me")
    with pytest.raises(s3po.LocalFileError, match="plain"):
        pconn.download_file("bucket", "k", blocker / "sub" / "f.txt")
    assert blocker.read_text() == "keep me"
    assert sorted(p.name for p in here.iterdir()) == ["plain"]


def test_replacing_a_file_still_keeps_its_mode(pconn: s3po.Connection, tmp_path: Path) -> None:
    pconn.upload_string("bucket", "k", "new")
    target = tmp_path / "f"
    target.write_text("old")
    target.chmod(0o640)
    pconn.download_file("bucket", "k", target)
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_an_upload_stats_its_file_once_by_path(
    pconn: s3po.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "f.txt"
    source.write_text("body")
    stats = _counting(monkeypatch, "stat")
    pconn.upload_file("bucket", "k", source)
    assert [args for args in stats if os.fspath(args[0]) == str(source)] == [(source,)]
    assert pconn.download_string("bucket", "k") == "body"


@pytest.mark.parametrize(
    "upload",
    [
        lambda conn, path: conn.upload_file("bucket", "k", path),
        lambda conn, path: conn.transfer.upload("bucket", "k", path),
    ],
    ids=["upload_file", "transfer"],
)
def test_a_folder_given_as_the_file_is_refused(
    pconn: s3po.Connection, tmp_path: Path, upload: Callable[[s3po.Connection, Path], object]
) -> None:
    with pytest.raises(s3po.InvalidRequest, match="is a folder"):
        upload(pconn, tmp_path)
    with pytest.raises(s3po.NoSuchKey):
        pconn.head("bucket", "k")


def _bytes_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every ``pread``/``preadv`` that returned content (the 1-byte probe at the
    end of a file returns none)."""
    sizes: list[int] = []
    pread, preadv = os.pread, os.preadv

    def counted_pread(fd: int, n: int, offset: int) -> bytes:
        data = pread(fd, n, offset)
        if data:
            sizes.append(len(data))
        return data

    def counted_preadv(fd: int, buffers: Any, offset: int) -> int:
        n = preadv(fd, buffers, offset)
        if n:
            sizes.append(n)
        return n

    monkeypatch.setattr(os, "pread", counted_pread)
    monkeypatch.setattr(os, "preadv", counted_preadv)
    return sizes


@pytest.mark.parametrize("size", [0, 1, 10 * KIB, 256 * KIB])
def test_a_small_file_is_read_once_for_its_checksum_and_its_body(
    pconn: s3po.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    source = tmp_path / "f.bin"
    content = os.urandom(size)
    source.write_bytes(content)
    reads = _bytes_read(monkeypatch)
    pconn.upload_file("bucket", "k", source)
    monkeypatch.undo()
    assert sum(reads) == size
    assert pconn.download_bytes("bucket", "k") == content


@pytest.mark.parametrize("size", [HOLD_LIMIT, HOLD_LIMIT + 1])
def test_only_a_file_up_to_the_hold_limit_is_held_in_memory(tmp_path: Path, size: int) -> None:
    source = tmp_path / "f.bin"
    content = os.urandom(size)
    source.write_bytes(content)
    kind = content_hash(True)  # noqa: FBT003 - the default checksum
    assert kind is not None
    with open_source(source) as opened:
        assert isinstance(opened, FileSource)
        digest = opened.digest(kind)
        assert digest == Checksum(kind.name, kind.new(content).hexdigest())
        assert opened.held == (content if size <= HOLD_LIMIT else None)


def test_a_small_file_that_shrank_before_its_read_is_refused(
    pconn: s3po.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "f.bin"
    source.write_bytes(b"x" * 1000)
    real = os.pread

    def shrink_first(fd: int, n: int, offset: int) -> bytes:
        monkeypatch.setattr(os, "pread", real)
        os.truncate(source, 10)  # between the open's fstat and the read
        return real(fd, n, offset)

    monkeypatch.setattr(os, "pread", shrink_first)
    with pytest.raises(s3po.SourceChanged, match="shorter"):
        pconn.upload_file("bucket", "k", source, delete=True)
    assert source.read_bytes() == b"x" * 10
    with pytest.raises(s3po.NoSuchKey):
        pconn.head("bucket", "k")


@pytest.mark.parametrize("compress", [None, "gzip"])
def test_a_small_file_changed_after_its_read_is_not_sent(
    pconn: s3po.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compress: str | None
) -> None:
    """Its bytes are in memory, but the file is looked at again before they are sent."""
    source = tmp_path / "f.bin"
    source.write_bytes(b"x" * 1000)
    real = FileSource.digest

    def rewrite_after_read(self: FileSource, kind: Any) -> Any:
        assert self.held == b"x" * 1000
        source.write_bytes(b"y" * 1000)
        os.utime(source, ns=(0, 10**9))  # a later mtime, whatever the clock's tick
        return real(self, kind)

    monkeypatch.setattr(FileSource, "digest", rewrite_after_read)
    with pytest.raises(s3po.SourceChanged, match="changed while it was being uploaded"):
        pconn.upload_file("bucket", "k", source, delete=True, compress=compress)
    assert source.read_bytes() == b"y" * 1000
    with pytest.raises(s3po.NoSuchKey):
        pconn.head("bucket", "k")


def test_a_small_file_is_read_without_a_stream(
    pconn: s3po.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No buffered stream (its fstat and seeks) and no switch back to blocking reads."""
    source = tmp_path / "f.bin"
    source.write_bytes(b"z" * (64 * KIB))
    fdopens = _counting(monkeypatch, "fdopen")
    blocking = _counting(monkeypatch, "set_blocking")
    reads = _bytes_read(monkeypatch)
    pconn.upload_file("bucket", "k", source)
    monkeypatch.undo()
    assert fdopens == []
    assert blocking == []
    assert reads == [64 * KIB]
    assert pconn.download_bytes("bucket", "k") == b"z" * (64 * KIB)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="no /proc/self/fd")
def test_a_large_file_refused_after_its_open_leaves_no_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from s3po.transfer import sources  # noqa: PLC0415 - the module whose helper is patched

    source = tmp_path / "big.bin"
    source.write_bytes(b"x" * (HOLD_LIMIT + 1))

    def refuse(*_args: object) -> None:
        raise s3po.InvalidRequest("refused")

    monkeypatch.setattr(sources, "_probe_end", refuse)
    descriptors = Path("/proc/self/fd")
    before = len(list(descriptors.iterdir()))
    for _ in range(5):
        with pytest.raises(s3po.InvalidRequest, match="refused"), open_source(source):
            pass
    assert len(list(descriptors.iterdir())) == before
