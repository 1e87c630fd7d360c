"""``s3po cp`` in every direction, recursive, stdin/stdout, moves and options."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import s3po

TREE = {"a.txt": b"alpha\n", "sub/b.txt": b"bravo\n" * 100, "sub/deep/c.bin": bytes(range(256))}


def conn_for(store: Path) -> s3po.Connection:
    return s3po.Connection(backend="local", root=store)


def test_console_script_and_python_m_both_run(command: list[str]) -> None:
    script = subprocess.run([*command, "--help"], capture_output=True, check=False)
    module = subprocess.run(
        [sys.executable, "-m", "s3po.cli", "--version"], capture_output=True, check=False
    )
    assert script.returncode == 0
    assert b"cp" in script.stdout
    assert b"sync" in script.stdout
    assert module.returncode == 0
    assert module.stdout.startswith(b"s3po ")


def test_upload_into_prefix_and_to_key(cli: Any, tmp_path: Path, store: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"hello")
    cli("cp", "a.txt", "s3://bkt/docs/", check=0)
    cli("cp", "a.txt", "s3://bkt/renamed.txt", check=0)
    # an existing "folder" on the store means "into" as well
    cli("cp", "a.txt", "s3://bkt/docs", check=0)
    with conn_for(store) as conn:
        assert conn.list_names("bkt") == ["docs/a.txt", "renamed.txt"]
        assert conn.download_bytes("bkt", "docs/a.txt") == b"hello"


def test_download_to_file_and_into_folder(cli: Any, tmp_path: Path, store: Path) -> None:
    with conn_for(store) as conn:
        conn.upload_string("bkt", "x/y.txt", b"payload")
    (tmp_path / "out").mkdir()
    cli("cp", "s3://bkt/x/y.txt", "out", check=0)
    cli("cp", "s3://bkt/x/y.txt", "named.txt", check=0)
    assert (tmp_path / "out" / "y.txt").read_bytes() == b"payload"
    assert (tmp_path / "named.txt").read_bytes() == b"payload"


def test_server_side_copy(cli: Any, store: Path) -> None:
    with conn_for(store) as conn:
        conn.upload_string("bkt", "src.txt", b"copied", compress="gzip")
    result = cli("cp", "s3://bkt/src.txt", "s3://other/dir/", check=0)
    assert result.stdout.decode().strip() == "copy: s3://bkt/src.txt -> s3://other/dir/src.txt"
    with conn_for(store) as conn:
        assert conn.download_bytes("other", "dir/src.txt") == b"copied"
        assert conn.head("other", "dir/src.txt").headers.content_encoding == "gzip"


def test_stdin_to_object_and_object_to_stdout(cli: Any) -> None:
    data = bytes(range(256)) * 1000
    cli("cp", "-", "s3://bkt/blob", "--compress", "zstd", input=data, check=0)
    result = cli("cp", "s3://bkt/blob", "-", check=0)
    assert result.stdout == data
    assert b"download: s3://bkt/blob -> -" in result.stderr


def test_recursive_round_trip_with_compression(
    cli: Any, tmp_path: Path, store: Path, make_tree: Any
) -> None:
    make_tree(tmp_path / "src", TREE)
    up = cli("cp", "-r", "src", "s3://bkt/backup", "--compress", "gzip", "--jobs", "3", check=0)
    assert len(up.stdout.splitlines()) == 3
    with conn_for(store) as conn:
        assert conn.list_names("bkt") == [f"backup/{rel}" for rel in sorted(TREE)]
        assert conn.head("bkt", "backup/a.txt").headers.content_encoding == "gzip"
    cli("cp", "--recursive", "s3://bkt/backup/", "restored", check=0)
    for rel, data in TREE.items():
        assert (tmp_path / "restored" / rel).read_bytes() == data


def test_recursive_copy_between_prefixes(
    cli: Any, tmp_path: Path, store: Path, make_tree: Any
) -> None:
    make_tree(tmp_path / "src", TREE)
    cli("cp", "-r", "src", "s3://bkt/one", check=0)
    cli("cp", "-r", "s3://bkt/one", "s3://bkt/two/", check=0)
    with conn_for(store) as conn:
        assert conn.list_names("bkt", "two/") == [f"two/{rel}" for rel in sorted(TREE)]


def test_move_up_and_down(cli: Any, tmp_path: Path, store: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"move me")
    cli("cp", "--delete-source", "f.txt", "s3://bkt/f.txt", check=0)
    assert not (tmp_path / "f.txt").exists()
    cli("cp", "--delete-source", "s3://bkt/f.txt", "back.txt", check=0)
    assert (tmp_path / "back.txt").read_bytes() == b"move me"
    with conn_for(store) as conn:
        assert not conn.exists("bkt", "f.txt")


def test_recursive_move(cli: Any, tmp_path: Path, store: Path, make_tree: Any) -> None:
    make_tree(tmp_path / "src", TREE)
    cli("cp", "-r", "--delete-source", "src", "s3://bkt/p", check=0)
    assert not any(p.is_file() for p in (tmp_path / "src").rglob("*"))
    with conn_for(store) as conn:
        assert len(conn.list_names("bkt")) == len(TREE)


def test_headers_and_content_type(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "page.html").write_bytes(b"<p>hi</p>")
    cli(
        "cp",
        "page.html",
        "s3://bkt/page.html",
        "--content-type",
        "text/html",
        "--header",
        "Cache-Control: max-age=60",
        "--header",
        "x-amz-meta-owner: me",
        check=0,
    )
    record = json.loads(cli("head", "s3://bkt/page.html", "--json", check=0).stdout)
    assert record["content_type"] == "text/html"
    assert record["cache_control"] == "max-age=60"
    assert record["metadata"]["owner"] == "me"
    assert record["metadata"]["s3po-size"] == "9"


def test_part_size_makes_multipart(cli: Any, tmp_path: Path, store: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * (11 * 1024 * 1024))
    cli("cp", "big", "s3://bkt/big", "--part-size", "5MiB", "--threshold", "6MiB", check=0)
    with conn_for(store) as conn:
        assert conn.head("bkt", "big").etag.endswith("-3")


def test_no_decompress_keeps_stored_bytes(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_bytes(b"text " * 100)
    cli("cp", "t.txt", "s3://bkt/t.txt", "--compress", "gzip", check=0)
    cli("cp", "--no-decompress", "s3://bkt/t.txt", "t.txt.gz", check=0)
    assert gzip.decompress((tmp_path / "t.txt.gz").read_bytes()) == b"text " * 100


@pytest.mark.parametrize(
    "args",
    [
        ["cp", "a", "b"],  # two local paths
        ["cp", "missing.txt", "s3://bkt/x"],
        ["cp", "folder", "s3://bkt/x"],  # a folder without -r
        ["cp", "s3://bkt/prefix/", "out"],  # a prefix without -r
        ["cp", "-r", "-", "s3://bkt/x"],
        ["cp", "-", "s3://bkt/"],  # stdin needs a key
        ["cp", "x", "s3://b/x"],  # bucket name too short
        ["cp", "x", "gs://bkt/x"],
    ],
)
def test_bad_input_is_exit_2(cli: Any, tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "x").write_bytes(b"x")
    result = cli(*args, check=2)
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("s3po: error: ")


def test_failed_items_are_named_and_exit_1(cli: Any, tmp_path: Path, store: Path) -> None:
    with conn_for(store) as conn:
        for name in ("ok1", "clash", "ok2"):
            conn.upload_string("bkt", f"d/{name}", name.encode())
    (tmp_path / "out" / "clash").mkdir(parents=True)  # a folder where the file should go
    result = cli("cp", "-r", "s3://bkt/d", "out", check=1)
    errors = result.stderr.decode().splitlines()
    assert len(errors) == 1
    assert errors[0].startswith("s3po: error: download: s3://bkt/d/clash -> out/clash failed")
    assert (tmp_path / "out" / "ok1").read_bytes() == b"ok1"
    assert (tmp_path / "out" / "ok2").read_bytes() == b"ok2"


def test_missing_object_is_exit_1(cli: Any) -> None:
    result = cli("cp", "s3://bkt/nope", "out.txt", check=1)
    assert result.stderr.decode().count("\n") == 1
    assert b"Traceback" not in result.stderr
