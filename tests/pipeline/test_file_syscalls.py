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
