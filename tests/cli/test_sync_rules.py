"""``sync --size-only``, ``--exact-timestamps`` and ``--checksum`` (no download to compare)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import s3po


def lines(result: Any) -> list[str]:
    return sorted(result.stdout.decode().splitlines())


def _set_mtime(path: Path, mtime: float) -> None:
    os.utime(path, (mtime, mtime))


def test_size_only_ignores_newer_files_of_the_same_size(
    cli: Any, tmp_path: Path, make_tree: Any
) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": b"alpha", "b.txt": b"bravo"})
    cli("sync", "src", "s3://bkt/p", check=0)
    (src / "a.txt").write_bytes(b"ALPHA")  # same size, newer
    _set_mtime(src / "a.txt", (src / "a.txt").stat().st_mtime + 60)
    (src / "b.txt").write_bytes(b"bravo, longer")
    assert lines(cli("sync", "src", "s3://bkt/p", "--size-only", check=0)) == [
        "upload: src/b.txt -> s3://bkt/p/b.txt"
    ]
    # the default rule still sees the newer file
    assert lines(cli("sync", "src", "s3://bkt/p", check=0)) == [
        "upload: src/a.txt -> s3://bkt/p/a.txt"
    ]


def test_exact_timestamps_copies_down_over_a_newer_local_file(
    cli: Any, tmp_path: Path, store: Path
) -> None:
    with s3po.Connection(backend="local", root=store) as conn:
        conn.upload_string("bkt", "d/a.txt", b"alpha")
    cli("sync", "s3://bkt/d", "mirror", check=0)
    local = tmp_path / "mirror" / "a.txt"
    local.write_bytes(b"ALPHA")  # same size, and newer than the object
    _set_mtime(local, local.stat().st_mtime + 60)
    assert lines(cli("sync", "s3://bkt/d", "mirror", check=0)) == ["1 up to date"]
    assert lines(cli("sync", "s3://bkt/d", "mirror", "--exact-timestamps", check=0)) == [
        "download: s3://bkt/d/a.txt -> mirror/a.txt"
    ]
    assert local.read_bytes() == b"alpha"
    assert lines(cli("sync", "s3://bkt/d", "mirror", "--exact-timestamps", check=0)) == [
        "1 up to date"
    ]


def test_checksum_compares_content_not_times(cli: Any, tmp_path: Path, make_tree: Any) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": b"alpha" * 100, "b.txt": b"bravo"})
    cli("sync", "src", "s3://bkt/p", "--compress", "gzip", check=0)
    # a touched file with the same content: the default rule copies, --checksum does not
    _set_mtime(src / "b.txt", (src / "b.txt").stat().st_mtime + 60)
    # changed content of the same size with the old mtime: only --checksum sees it
    before = (src / "a.txt").stat().st_mtime
    (src / "a.txt").write_bytes(b"ALPHA" * 100)
    _set_mtime(src / "a.txt", before)
    dry = cli("--dry-run", "sync", "src", "s3://bkt/p", check=0)
    assert lines(dry) == ["(dry run) upload: src/b.txt -> s3://bkt/p/b.txt"]
    assert lines(cli("sync", "src", "s3://bkt/p", "--checksum", check=0)) == [
        "upload: src/a.txt -> s3://bkt/p/a.txt"
    ]
    assert lines(cli("sync", "src", "s3://bkt/p", "--checksum", check=0)) == ["2 up to date"]
    assert lines(cli("sync", "s3://bkt/p", "src", "--checksum", check=0)) == ["2 up to date"]


def test_checksum_uses_a_plain_etag_without_s3po_metadata(
    cli: Any, tmp_path: Path, store: Path, make_tree: Any
) -> None:
    bare = s3po.TransferConfig(checksum=False)
    with s3po.Connection(backend="local", root=store, config=bare) as conn:
        conn.upload_string("bkt", "p/same.txt", b"same")
        conn.upload_string("bkt", "p/diff.txt", b"diff")
        assert "s3po-xxh128" not in conn.head("bkt", "p/same.txt").headers.metadata
    make_tree(tmp_path / "src", {"same.txt": b"same", "diff.txt": b"DIFF"})
    for name in ("same.txt", "diff.txt"):
        _set_mtime(tmp_path / "src" / name, 1_000_000_000)  # older: the default copies nothing
    assert lines(cli("sync", "src", "s3://bkt/p", check=0)) == ["2 up to date"]
    assert lines(cli("sync", "src", "s3://bkt/p", "--checksum", check=0)) == [
        "upload: src/diff.txt -> s3://bkt/p/diff.txt"
    ]


def test_checksum_between_prefixes(cli: Any, store: Path) -> None:
    with s3po.Connection(backend="local", root=store) as conn:
        for prefix, data in (("a", b"one"), ("b", b"one")):
            conn.upload_string("bkt", f"{prefix}/k", data)
        conn.upload_string("bkt", "a/changed", b"new")
        conn.upload_string("bkt", "b/changed", b"old")
    assert lines(cli("sync", "s3://bkt/a", "s3://bkt/b", check=0)) == [
        "2 up to date"
    ]  # b/ is newer
    assert lines(cli("sync", "s3://bkt/a", "s3://bkt/b", "--checksum", check=0)) == [
        "copy: s3://bkt/a/changed -> s3://bkt/b/changed"
    ]


def test_comparison_flags_exclude_each_other(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    result = cli("sync", "src", "s3://bkt/p", "--size-only", "--checksum", check=2)
    assert "--size-only and --checksum" in result.stderr.decode()
