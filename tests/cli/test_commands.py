"""``ls``, ``cat``, ``head``, ``rm``, ``cleanup``, ``--json``, ``--dry-run`` and errors."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from s3po_local import LocalBackend

import s3po


@pytest.fixture
def filled(store: Path) -> Path:
    with s3po.Connection(backend="local", root=store) as conn:
        conn.upload_string("bkt", "top.txt", b"top")
        conn.upload_string("bkt", "logs/a.log", b"a" * 100, compress="gzip")
        conn.upload_string("bkt", "logs/2024/b.log", b"b")
        conn.upload_string("bkt", "logs2/c.log", b"c")
    return store


def names(store: Path) -> list[str]:
    with s3po.Connection(backend="local", root=store) as conn:
        return conn.list_names("bkt")


@pytest.mark.usefixtures("filled")
def test_ls_shows_folders_without_r(cli: Any) -> None:
    lines = cli("ls", "s3://bkt/", check=0).stdout.decode().splitlines()
    assert [line.split()[-1] for line in lines] == ["logs/", "logs2/", "top.txt"]
    assert lines[0].split() == ["PRE", "logs/"]
    assert lines[2].split()[2] == "3"


@pytest.mark.usefixtures("filled")
def test_ls_recursive_json(cli: Any) -> None:
    out = cli("ls", "-r", "s3://bkt/logs/", "--json", check=0).stdout.decode()
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["key"] for r in records] == ["logs/2024/b.log", "logs/a.log"]
    assert all(r["type"] == "object" and r["bucket"] == "bkt" for r in records)
    # without -r the URL is a plain prefix, as in S3: "logs" matches logs/ and logs2/
    prefixes = cli("ls", "s3://bkt/logs", "--json", check=0).stdout.decode().splitlines()
    assert [json.loads(line) for line in prefixes] == [
        {"type": "prefix", "bucket": "bkt", "prefix": "logs/"},
        {"type": "prefix", "bucket": "bkt", "prefix": "logs2/"},
    ]


@pytest.mark.usefixtures("filled")
def test_cat_decompresses(cli: Any) -> None:
    assert (
        cli("cat", "s3://bkt/logs/a.log", "s3://bkt/top.txt", check=0).stdout == b"a" * 100 + b"top"
    )
    raw = cli("cat", "--no-decompress", "s3://bkt/logs/a.log", check=0).stdout
    assert gzip.decompress(raw) == b"a" * 100


@pytest.mark.usefixtures("filled")
def test_head_human_and_json(cli: Any) -> None:
    text = cli("head", "s3://bkt/logs/a.log", check=0).stdout.decode()
    assert "Content-Encoding: gzip" in text
    assert "ETag: " in text
    assert "x-amz-meta-s3po-codec: gzip" in text
    record = json.loads(cli("head", "s3://bkt/logs/a.log", "--json", check=0).stdout)
    assert record["content_encoding"] == "gzip"
    assert record["key"] == "logs/a.log"
    assert isinstance(record["size"], int)


@pytest.mark.usefixtures("filled")
def test_head_missing_is_one_line_exit_1(cli: Any) -> None:
    result = cli("head", "s3://bkt/nope", check=1)
    assert result.stderr.decode().startswith("s3po: error: ")
    assert result.stderr.decode().count("\n") == 1


def test_rm_one_and_recursive(cli: Any, filled: Path) -> None:
    cli("rm", "s3://bkt/top.txt", check=0)
    assert "top.txt" not in names(filled)
    cli("rm", "s3://bkt/top.txt", check=1)  # gone already
    cli("rm", "s3://bkt/logs", check=2)  # a prefix needs -r
    out = cli("rm", "-r", "s3://bkt/logs", "--json", check=0).stdout.decode()
    assert sorted(json.loads(line)["src"] for line in out.splitlines()) == [
        "s3://bkt/logs/2024/b.log",
        "s3://bkt/logs/a.log",
    ]
    assert names(filled) == ["logs2/c.log"]  # logs2/ is not under logs/


@pytest.mark.usefixtures("filled")
def test_dry_run_touches_nothing(cli: Any, tmp_path: Path, snapshot: Any, make_tree: Any) -> None:
    make_tree(tmp_path / "src", {"new.txt": b"n", "top.txt": b"changed"})
    (tmp_path / "down").mkdir()
    before = snapshot(tmp_path)
    runs = [
        ("cp", "-r", "src", "s3://bkt/"),
        ("cp", "--delete-source", "src/new.txt", "s3://bkt/new.txt"),
        ("cp", "-r", "s3://bkt/logs", "down"),
        ("sync", "--delete", "src", "s3://bkt/"),
        ("sync", "--delete", "s3://bkt/logs", "down"),
        ("rm", "-r", "s3://bkt/"),
        ("cleanup", "s3://bkt", "--older-than", "0s"),
    ]
    outputs = [cli("--dry-run", *args, check=0).stdout.decode() for args in runs]
    assert snapshot(tmp_path) == before
    assert outputs[0].splitlines() == [
        "(dry run) upload: src/new.txt -> s3://bkt/new.txt",
        "(dry run) upload: src/top.txt -> s3://bkt/top.txt",
    ]
    assert outputs[1] == "(dry run) move (upload): src/new.txt -> s3://bkt/new.txt\n"
    assert len(outputs[2].splitlines()) == 2
    sync_lines = outputs[3].splitlines()
    assert "(dry run) delete: s3://bkt/logs/a.log" in sync_lines
    assert "(dry run) upload: src/top.txt -> s3://bkt/top.txt" in sync_lines
    assert all(line.startswith("(dry run) ") for out in outputs for line in out.splitlines())
    assert len(outputs[5].splitlines()) == 4


def test_json_records_of_a_batch(cli: Any, tmp_path: Path, make_tree: Any) -> None:
    make_tree(tmp_path / "src", {"a": b"1", "b/c": b"22"})
    out = cli("--json", "cp", "-r", "src", "s3://bkt/j", check=0).stdout.decode()
    records = sorted((json.loads(line) for line in out.splitlines()), key=lambda r: r["src"])
    assert records == [
        {"action": "upload", "src": "src/a", "dst": "s3://bkt/j/a", "size": 1, "status": "ok"},
        {"action": "upload", "src": "src/b/c", "dst": "s3://bkt/j/b/c", "size": 2, "status": "ok"},
    ]


def test_global_options_after_the_command(cli: Any, store: Path, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"f")
    cli(
        "cp",
        "f",
        "s3://bkt/f",
        "--backend",
        "local",
        "--root",
        str(store),
        "-q",
        backend=False,
        check=0,
    )
    result = cli("ls", "s3://bkt", "--root", str(store), backend=False, check=0)  # --root: local
    assert result.stdout.decode().split()[-1] == "f"


@pytest.mark.parametrize(
    "args",
    [
        ["frobnicate"],
        ["cp", "only-one-arg"],
        ["ls", "/not/an/url"],
        ["cp", "x", "s3://bkt/x", "--compress", "no-such-codec"],
        ["cp", "x", "s3://bkt/x", "--part-size", "lots"],
        ["cp", "x", "s3://bkt/x", "--header", "no colon"],
        ["cleanup", "s3://bkt", "--older-than", "1 fortnight"],
        ["--backend", "no-such-backend", "ls", "s3://bkt"],
        ["ls", "s3://bkt", "--endpoint-url", "http://127.0.0.1:1"],  # local takes no endpoint
    ],
)
def test_usage_errors_exit_2(cli: Any, tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "x").write_bytes(b"x")
    result = cli(*args, check=2)
    assert b"Traceback" not in result.stderr
    assert result.stderr.decode().strip().splitlines()[-1].startswith("s3po")


@pytest.mark.usefixtures("filled")
def test_debug_shows_the_traceback(cli: Any) -> None:
    quiet = cli("cat", "s3://bkt/nope", check=1).stderr.decode()
    loud = cli("--debug", "cat", "s3://bkt/nope", check=1).stderr.decode()
    assert "Traceback" not in quiet
    assert "Traceback (most recent call last)" in loud
    assert loud.strip().splitlines()[-1] == quiet.strip()


def test_cleanup_aborts_old_incomplete_uploads(cli: Any, store: Path) -> None:
    backend = LocalBackend(store)
    backend.create_bucket("bkt")
    old = backend.start_multipart("bkt", "tmp/old.bin", headers=s3po_headers())
    fresh = backend.start_multipart("bkt", "tmp/fresh.bin", headers=s3po_headers())
    age_upload(store, old, days=3)
    listed = cli("--json", "--dry-run", "cleanup", "s3://bkt/tmp/", "--older-than", "1d", check=0)
    assert [json.loads(line)["upload_id"] for line in listed.stdout.splitlines()] == [old]
    assert {u.upload_id for u in backend.list_multipart("bkt")} == {old, fresh}
    result = cli("cleanup", "s3://bkt/tmp/", "--older-than", "2d", check=0)
    assert result.stdout.decode().startswith(f"abort: s3://bkt/tmp/old.bin (upload {old}")
    assert [u.upload_id for u in backend.list_multipart("bkt")] == [fresh]


def s3po_headers() -> s3po.Headers:
    return s3po.Headers()


def age_upload(store: Path, upload_id: str, *, days: int) -> None:
    """Move an upload's start into the past (the local backend keeps it in upload.json)."""
    (record,) = store.rglob(f"{upload_id}/upload.json")
    data = json.loads(record.read_text())
    started = dt.datetime.fromisoformat(data["initiated"]) - dt.timedelta(days=days)
    data["initiated"] = started.isoformat()
    record.write_text(json.dumps(data))
