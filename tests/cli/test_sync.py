"""``s3po sync`` both ways: what differs is copied, a second run does nothing, --delete prunes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import s3po

TREE = {"a.txt": b"alpha", "sub/b.txt": b"bravo" * 50, "sub/c.txt": b"charlie"}


def lines(result: Any) -> list[str]:
    return sorted(result.stdout.decode().splitlines())


def test_sync_up_then_nothing_then_changes(
    cli: Any, tmp_path: Path, store: Path, make_tree: Any
) -> None:
    src = make_tree(tmp_path / "src", TREE)
    first = cli("sync", "src", "s3://bkt/site", "--compress", "gzip", check=0)
    assert len(lines(first)) == 3
    # compressed objects: stored sizes differ, the recorded logical size does not
    assert lines(cli("sync", "src", "s3://bkt/site", "--compress", "gzip", check=0)) == [
        "3 up to date"
    ]  # nothing to do, and it says so
    (src / "a.txt").write_bytes(b"alpha, longer now")
    newer = (src / "sub" / "c.txt").stat().st_mtime + 10
    os.utime(src / "sub" / "c.txt", (newer, newer))  # same size, newer
    assert lines(cli("sync", "src", "s3://bkt/site", check=0)) == [
        "upload: src/a.txt -> s3://bkt/site/a.txt",
        "upload: src/sub/c.txt -> s3://bkt/site/sub/c.txt",
    ]
    with s3po.Connection(backend="local", root=store) as conn:
        conn.upload_string("bkt", "site/extra.txt", b"not in src")
    (src / "sub" / "b.txt").unlink()
    assert lines(cli("sync", "--delete", "src", "s3://bkt/site", check=0)) == [
        "delete: s3://bkt/site/extra.txt",
        "delete: s3://bkt/site/sub/b.txt",
    ]
    with s3po.Connection(backend="local", root=store) as conn:
        assert conn.list_names("bkt") == ["site/a.txt", "site/sub/c.txt"]


def test_sync_down_then_nothing_and_delete(cli: Any, tmp_path: Path, store: Path) -> None:
    with s3po.Connection(backend="local", root=store) as conn:
        for rel, data in TREE.items():
            # uploaded by the library, so without the CLI's size and mtime metadata
            conn.upload_string("bkt", f"data/{rel}", data, compress="gzip")
    assert len(lines(cli("sync", "s3://bkt/data", "mirror", check=0))) == 3
    for rel, data in TREE.items():
        assert (tmp_path / "mirror" / rel).read_bytes() == data
    assert lines(cli("sync", "s3://bkt/data/", "mirror", check=0)) == ["3 up to date"]
    (tmp_path / "mirror" / "stray.txt").write_bytes(b"stray")
    assert lines(cli("sync", "s3://bkt/data/", "mirror", "--delete", check=0)) == [
        "delete: mirror/stray.txt"
    ]
    assert not (tmp_path / "mirror" / "stray.txt").exists()


def test_sync_round_trip_is_stable(cli: Any, tmp_path: Path, make_tree: Any) -> None:
    make_tree(tmp_path / "src", TREE)
    cli("sync", "src", "s3://bkt/p", check=0)
    cli("sync", "s3://bkt/p", "copy", check=0)
    # the download kept the recorded mtimes, so neither direction has work left
    assert lines(cli("sync", "copy", "s3://bkt/p", check=0)) == ["3 up to date"]
    assert lines(cli("sync", "s3://bkt/p", "src", check=0)) == ["3 up to date"]


def test_sync_refuses_bad_pairs(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_bytes(b"f")
    cli("sync", "d", "e", check=2)
    cli("sync", "f", "s3://bkt/x", check=2)
    cli("sync", "-", "s3://bkt/x", check=2)
