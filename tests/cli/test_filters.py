"""``--exclude`` / ``--include`` on cp -r, mv, sync and rm -r: in order, the last match decides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import s3po

TREE = {
    "a.txt": b"a",
    "b.log": b"b",
    "sub/c.log": b"c",
    "sub/d.txt": b"d",
    "sub/deep/e.log": b"e",
}


def keys(store: Path, bucket: str = "bkt") -> list[str]:
    with s3po.Connection(backend="local", root=store) as conn:
        return conn.list_names(bucket)


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([], sorted(TREE)),
        (["--exclude", "*.log"], ["a.txt", "sub/d.txt"]),  # '*' crosses '/'
        (["--exclude", "*", "--include", "*.log"], ["b.log", "sub/c.log", "sub/deep/e.log"]),
        # the last matching rule wins, so an include before the exclude is overruled
        (["--include", "sub/*", "--exclude", "*.log"], ["a.txt", "sub/d.txt"]),
        (
            ["--exclude", "*.log", "--include", "sub/*"],
            ["a.txt", "sub/c.log", "sub/d.txt", "sub/deep/e.log"],
        ),
        (["--exclude", "sub/*", "--include", "sub/deep/*"], ["a.txt", "b.log", "sub/deep/e.log"]),
        (["--exclude", "?.txt"], ["b.log", "sub/c.log", "sub/d.txt", "sub/deep/e.log"]),
        (["--exclude", "*.LOG"], sorted(TREE)),  # case-sensitive
    ],
)
def test_cp_recursive_up_filters_relative_paths(
    cli: Any, tmp_path: Path, store: Path, make_tree: Any, rules: list[str], expected: list[str]
) -> None:
    make_tree(tmp_path / "src", TREE)
    cli("cp", "-r", "src", "s3://bkt/p/", *rules, check=0)
    assert keys(store) == [f"p/{rel}" for rel in expected]


def test_cp_recursive_down_and_remote_copy_filter_keys_below_the_prefix(
    cli: Any, tmp_path: Path, store: Path, make_tree: Any
) -> None:
    make_tree(tmp_path / "src", TREE)
    cli("cp", "-r", "src", "s3://bkt/p", check=0)
    # the pattern is relative to the prefix: "p/*" would match nothing below s3://bkt/p
    cli("cp", "-r", "s3://bkt/p", "down", "--exclude", "sub/*", check=0)
    assert sorted(
        p.relative_to(tmp_path / "down").as_posix()
        for p in (tmp_path / "down").rglob("*")
        if p.is_file()
    ) == ["a.txt", "b.log"]
    cli("cp", "-r", "s3://bkt/p/", "s3://bkt/q/", "--exclude", "*", "--include", "*.txt", check=0)
    assert [k for k in keys(store) if k.startswith("q/")] == ["q/a.txt", "q/sub/d.txt"]


def test_rm_recursive_deletes_only_what_passes(
    cli: Any, tmp_path: Path, store: Path, make_tree: Any
) -> None:
    make_tree(tmp_path / "src", TREE)
    cli("cp", "-r", "src", "s3://bkt/p", check=0)
    out = cli("rm", "-r", "s3://bkt/p", "--exclude", "*", "--include", "*.log", check=0)
    assert sorted(out.stdout.decode().splitlines()) == [
        "delete: s3://bkt/p/b.log",
        "delete: s3://bkt/p/sub/c.log",
        "delete: s3://bkt/p/sub/deep/e.log",
    ]
    assert keys(store) == ["p/a.txt", "p/sub/d.txt"]


def test_sync_delete_spares_excluded_destination_entries(
    cli: Any, tmp_path: Path, store: Path, make_tree: Any
) -> None:
    make_tree(tmp_path / "src", TREE)
    with s3po.Connection(backend="local", root=store) as conn:
        conn.upload_string("bkt", "p/keep.log", b"only here, excluded")
        conn.upload_string("bkt", "p/stray.txt", b"only here, not excluded")
    out = cli("sync", "--delete", "src", "s3://bkt/p", "--exclude", "*.log", check=0)
    assert sorted(out.stdout.decode().splitlines()) == [
        "delete: s3://bkt/p/stray.txt",
        "upload: src/a.txt -> s3://bkt/p/a.txt",
        "upload: src/sub/d.txt -> s3://bkt/p/sub/d.txt",
    ]
    assert keys(store) == ["p/a.txt", "p/keep.log", "p/sub/d.txt"]
    # and down: excluded local files are neither replaced nor deleted
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "mine.log").write_bytes(b"local only")
    cli("sync", "--delete", "s3://bkt/p", "mirror", "--exclude", "*.log", check=0)
    assert (tmp_path / "mirror" / "mine.log").read_bytes() == b"local only"
    assert not (tmp_path / "mirror" / "keep.log").exists()
    assert (tmp_path / "mirror" / "sub" / "d.txt").read_bytes() == b"d"


def test_filters_apply_to_a_single_file_by_its_name(cli: Any, tmp_path: Path, store: Path) -> None:
    (tmp_path / "x.log").write_bytes(b"x")
    result = cli("cp", "x.log", "s3://bkt/x.log", "--exclude", "*.log", "--json", check=0)
    assert result.stdout == b""
    assert not (store / "bkt").exists() or keys(store) == []


def test_dryrun_is_dry_run(cli: Any, tmp_path: Path, store: Path, make_tree: Any) -> None:
    make_tree(tmp_path / "src", TREE)
    out = cli("cp", "-r", "src", "s3://bkt/p", "--dryrun", "--exclude", "*.log", check=0)
    assert sorted(out.stdout.decode().splitlines()) == [
        "(dry run) upload: src/a.txt -> s3://bkt/p/a.txt",
        "(dry run) upload: src/sub/d.txt -> s3://bkt/p/sub/d.txt",
    ]
    assert not (store / "bkt").exists()
    cli("cp", "-r", "src", "s3://bkt/p", check=0)
    out = cli("--dryrun", "--json", "rm", "-r", "s3://bkt/p", "--include", "*", check=0)
    assert {json.loads(line)["status"] for line in out.stdout.decode().splitlines()} == {"dry-run"}
    assert keys(store) == [f"p/{rel}" for rel in sorted(TREE)]


def test_mv_recursive_with_filters_moves_only_what_passes(
    cli: Any, tmp_path: Path, store: Path, make_tree: Any
) -> None:
    src = make_tree(tmp_path / "src", TREE)
    out = cli("--json", "mv", "-r", "src", "s3://bkt/p", "--exclude", "*.log", check=0)
    records = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert all(r["move"] is True and r["status"] == "ok" for r in records)
    assert keys(store) == ["p/a.txt", "p/sub/d.txt"]
    left = sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file())
    assert left == ["b.log", "sub/c.log", "sub/deep/e.log"]
