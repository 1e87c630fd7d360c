"""``mb``, ``rb``, ``mv``, ``presign``, ``du``, bucket ``ls``, ``--summarize``, ls's shape."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import s3po

#: ``aws s3 ls``: date, time, size right-aligned in 10 columns, name; PRE aligned with them.
OBJECT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [ \d]{10} (\S.*)$")
PRE_LINE = re.compile(r"^ {27}PRE (\S+/)$")


@pytest.fixture
def filled(store: Path) -> Path:
    with s3po.Connection(backend="local", root=store) as conn:
        conn.upload_string("bkt", "top.txt", b"top")
        conn.upload_string("bkt", "logs/a.log", b"a" * 100)
        conn.upload_string("bkt", "logs/2024/b.log", b"b" * 2000)
        conn.upload_string("bkt", "logs2/c.log", b"c")
        conn.upload_string("other", "x", b"x")
    return store


def names(store: Path, bucket: str = "bkt") -> list[str]:
    with s3po.Connection(backend="local", root=store) as conn:
        return conn.list_names(bucket)


@pytest.mark.usefixtures("filled")
def test_ls_has_aws_shape_prefixes_first_names_relative(cli: Any) -> None:
    lines = cli("ls", "s3://bkt/logs/", check=0).stdout.decode().splitlines()
    assert [
        PRE_LINE.match(lines[0]) is not None,
        *(OBJECT_LINE.match(x) is not None for x in lines[1:]),
    ] == [True, True]
    assert lines[0].endswith(" PRE 2024/")
    assert lines[1].endswith("        100 a.log")
    top = cli("ls", "s3://bkt", check=0).stdout.decode().splitlines()
    assert top[:2] == [" " * 27 + "PRE logs/", " " * 27 + "PRE logs2/"]
    assert OBJECT_LINE.match(top[2]).group(1) == "top.txt"  # type: ignore[union-attr]
    # a partial prefix names what matches relative to its folder, as S3 folds it
    assert cli("ls", "s3://bkt/lo", check=0).stdout.decode().split() == [
        "PRE",
        "logs/",
        "PRE",
        "logs2/",
    ]
    recursive = cli("ls", "-r", "s3://bkt/logs/", check=0).stdout.decode().splitlines()
    assert [OBJECT_LINE.match(x).group(1) for x in recursive] == [  # type: ignore[union-attr]
        "logs/2024/b.log",
        "logs/a.log",
    ]


@pytest.mark.usefixtures("filled")
def test_ls_summarize_and_du(cli: Any) -> None:
    out = cli("ls", "-r", "--summarize", "s3://bkt/logs", check=0).stdout.decode()
    assert out.endswith("\nTotal Objects: 3\n   Total Size: 2101\n")  # logs/ and logs2/
    human = cli("ls", "-r", "--summarize", "-H", "s3://bkt/logs/", check=0).stdout.decode()
    assert human.splitlines()[-1] == "   Total Size: 2.1 KiB"
    record = json.loads(
        cli("ls", "--summarize", "--json", "s3://bkt/", check=0).stdout.splitlines()[-1]
    )
    assert record == {"type": "summary", "bucket": "bkt", "prefix": "", "objects": 1, "size": 3}
    assert cli("du", "s3://bkt/logs/", check=0).stdout.decode().split("\t") == [
        "2100",
        "2 objects",
        "s3://bkt/logs/\n",
    ]
    assert cli("du", "-H", "s3://bkt", check=0).stdout.decode().startswith("2.1 KiB\t4 objects")
    du = json.loads(cli("du", "--json", "s3://bkt", check=0).stdout)
    assert (du["objects"], du["size"]) == (4, 2104)


@pytest.mark.usefixtures("filled")
def test_ls_without_url_lists_buckets_and_missing_prefix_exits_1(cli: Any) -> None:
    lines = cli("ls", check=0).stdout.decode().splitlines()
    assert [line.split()[-1] for line in lines] == ["bkt", "other"]
    assert all(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$", line) for line in lines)
    records = [json.loads(x) for x in cli("ls", "--json", check=0).stdout.splitlines()]
    assert [(r["type"], r["bucket"]) for r in records] == [("bucket", "bkt"), ("bucket", "other")]
    assert cli("ls", "s3://bkt/nothing-here", check=1).stdout == b""
    cli("ls", "s3://nobucket", check=1)


def test_mb_then_rb(cli: Any, store: Path) -> None:
    assert cli("mb", "s3://fresh", check=0).stdout == b"make_bucket: fresh\n"
    assert (store / "fresh").is_dir()
    cli("mb", "s3://fresh/key", check=2)  # a bucket URL only
    cli("mb", "s3://Not_A_Bucket", check=2)
    assert cli("--dry-run", "rb", "s3://fresh", check=0).stdout == (
        b"(dry run) remove_bucket: fresh\n"
    )
    assert (store / "fresh").is_dir()
    assert cli("rb", "s3://fresh", check=0).stdout == b"remove_bucket: fresh\n"
    assert not (store / "fresh").exists()
    cli("rb", "s3://fresh", check=1)  # gone


def test_rb_refuses_a_non_empty_bucket_unless_force(cli: Any, filled: Path) -> None:
    result = cli("rb", "s3://bkt", check=2)
    assert "not empty" in result.stderr.decode()
    assert "--force" in result.stderr.decode()
    assert len(names(filled)) == 4
    dry = cli("--dry-run", "rb", "--force", "s3://bkt", check=0).stdout.decode().splitlines()
    assert len(dry) == 5
    assert len(names(filled)) == 4
    out = cli("rb", "--force", "s3://bkt", check=0).stdout.decode().splitlines()
    assert out[-1] == "remove_bucket: bkt"
    assert sorted(out[:-1]) == [
        "delete: s3://bkt/logs/2024/b.log",
        "delete: s3://bkt/logs/a.log",
        "delete: s3://bkt/logs2/c.log",
        "delete: s3://bkt/top.txt",
    ]
    assert not (filled / "bkt").exists()
    assert names(filled, "other") == ["x"]


def test_rb_force_also_aborts_incomplete_uploads(cli: Any, store: Path) -> None:
    with s3po.Connection(backend="local", root=store) as conn:
        conn.create_bucket("half")
        conn.backend.start_multipart("half", "big", headers=s3po.Headers())
    cli("rb", "s3://half", check=1)  # an incomplete upload is still in the bucket
    assert (store / "half").is_dir()
    cli("rb", "--force", "s3://half", check=0)
    assert not (store / "half").exists()


def test_mv_every_direction(cli: Any, tmp_path: Path, store: Path, make_tree: Any) -> None:
    make_tree(tmp_path, {"one.txt": b"one", "tree/a": b"a", "tree/sub/b": b"b"})
    cli("mv", "one.txt", "s3://bkt/one.txt", check=0)  # local -> remote
    assert not (tmp_path / "one.txt").exists()
    assert names(store) == ["one.txt"]
    cli("mv", "s3://bkt/one.txt", "s3://bkt/moved/one.txt", check=0)  # remote -> remote
    assert names(store) == ["moved/one.txt"]
    cli("mv", "s3://bkt/moved/one.txt", "back.txt", check=0)  # remote -> local
    assert (tmp_path / "back.txt").read_bytes() == b"one"
    assert names(store) == []
    out = cli("mv", "-r", "tree", "s3://bkt/t", check=0).stdout.decode()  # recursive
    assert "move (upload): tree/a -> s3://bkt/t/a" in out
    assert sorted(p.name for p in (tmp_path / "tree").rglob("*") if p.is_file()) == []
    cli("mv", "-r", "s3://bkt/t", "down", check=0)
    assert (tmp_path / "down" / "sub" / "b").read_bytes() == b"b"
    assert names(store) == []
    cli("mv", "-", "s3://bkt/x", check=2, input=b"stdin cannot be deleted")


def test_mv_keeps_the_source_when_the_copy_fails(cli: Any, tmp_path: Path, store: Path) -> None:
    with s3po.Connection(backend="local", root=store) as conn:
        conn.upload_string("bkt", "a.txt", b"kept")
    (tmp_path / "blocker").write_bytes(b"a file where a folder is needed")
    cli("mv", "s3://bkt/a.txt", "blocker/a.txt", check=1)
    assert names(store) == ["a.txt"]
    assert (tmp_path / "blocker").read_bytes() == b"a file where a folder is needed"


@pytest.mark.usefixtures("filled")
def test_presign_says_the_local_backend_cannot(cli: Any) -> None:
    result = cli("presign", "s3://bkt/top.txt", check=2)
    assert "cannot make presigned URLs" in result.stderr.decode()
    assert result.stdout == b""
    cli("presign", "s3://bkt/top.txt", "--expires-in", "0", check=2)
    cli("presign", "s3://bkt/top.txt", "--expires-in", "604801", check=2)
    cli("presign", "s3://bkt/top.txt", "--method", "DELETE", check=2)
    cli("presign", "s3://bkt/logs/", check=2)
