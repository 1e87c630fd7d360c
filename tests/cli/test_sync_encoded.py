"""``sync`` down compares a file with what a download of the object writes.

An object uploaded pre-encoded (``cp --header 'Content-Encoding: gzip' f.gz s3://b/k``)
records the size of the file it came from, the gzip bytes; a download decodes it, so the
file it writes is larger, and comparing the two sizes downloaded it again on every run. The
decoded size of such an object is unknown, so only the mtimes are compared (the download
set the file's mtime to the object's); with ``--no-decompress`` the download writes the
stored bytes, whose size is known. A sync with nothing to do says how many entries are up
to date (on stderr, so standard output still carries one line per action).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import s3po

CONTENT = b'{"rows": [' + b", ".join(b'{"n": %d}' % i for i in range(500)) + b"]}"


def _lines(result: Any) -> list[str]:
    return sorted(result.stdout.decode().splitlines())


@pytest.fixture
def run(request: pytest.FixtureRequest, cli: Any) -> Iterator[Callable[..., Any]]:
    """``run(*args)``: the CLI on the local backend, or (parametrized so) on moto."""
    if getattr(request, "param", "local") == "local":
        yield lambda *args, check=0: cli(*args, check=check)
        return
    server = request.getfixturevalue("moto_server")
    server.reset()
    server.admin.create_bucket(Bucket="bkt")
    env = {"AWS_ACCESS_KEY_ID": server.access_key, "AWS_SECRET_ACCESS_KEY": server.secret_key}
    remote = ["--endpoint-url", server.endpoint_url, "--region", server.region]
    yield lambda *args, check=0: cli(*remote, *args, backend=False, env=env, check=check)


def _upload_three(run: Callable[..., Any] | None, tmp_path: Path, store: Path) -> None:
    """One object pre-encoded, one compressed by s3po, one plain: by ``run``, or as it does."""
    (tmp_path / "data.json.gz").write_bytes(gzip.compress(CONTENT, mtime=0))
    (tmp_path / "plain.json").write_bytes(CONTENT)
    header = {"Content-Encoding": "gzip"}
    uploads = [
        ("data.json.gz", "d/pre.json", header, None),
        ("plain.json", "d/packed.json", None, "gzip"),
        ("plain.json", "d/plain.json", None, None),
    ]
    if run is not None:
        for name, key, headers, compress in uploads:
            flags = ["--header", "Content-Encoding: gzip"] if headers else []
            flags += ["--compress", compress] if compress else []
            run("cp", *flags, name, f"s3://bkt/{key}")
        return
    with s3po.Connection(backend="local", root=store) as conn:  # what the CLI's cp does
        for name, key, headers, compress in uploads:
            path = tmp_path / name
            conn.upload_file("bkt", key, path, headers=headers, compress=compress, keep_mtime=True)


@pytest.mark.parametrize("run", ["local", "moto"], indirect=True)
def test_sync_down_of_a_pre_encoded_object_is_idempotent(
    run: Callable[..., Any], tmp_path: Path, store: Path
) -> None:
    _upload_three(run, tmp_path, store)
    first = run("sync", "s3://bkt/d/", "out")
    assert len(_lines(first)) == 3
    assert (tmp_path / "out" / "pre.json").read_bytes() == CONTENT  # decoded
    second = run("sync", "s3://bkt/d/", "out")
    assert _lines(second) == []
    assert "3 up to date" in second.stderr.decode()


def test_sync_down_without_decompressing_compares_the_stored_size(
    run: Callable[..., Any], tmp_path: Path, store: Path
) -> None:
    _upload_three(None, tmp_path, store)
    assert len(_lines(run("sync", "--no-decompress", "s3://bkt/d/", "raw"))) == 3
    assert (tmp_path / "raw" / "pre.json").read_bytes() == gzip.compress(CONTENT, mtime=0)
    second = run("sync", "--no-decompress", "s3://bkt/d/", "raw")
    assert _lines(second) == []
    assert "3 up to date" in second.stderr.decode()


def test_checksum_rule_without_decompressing_compares_stored_bytes(
    run: Callable[..., Any], tmp_path: Path, store: Path
) -> None:
    """The content checksum of a compressed object does not describe its stored bytes."""
    _upload_three(None, tmp_path, store)
    flags = ["--no-decompress", "--checksum"]
    assert len(_lines(run("sync", *flags, "s3://bkt/d/", "raw"))) == 3
    second = run("sync", *flags, "s3://bkt/d/", "raw")
    assert _lines(second) == []
    assert "3 up to date" in second.stderr.decode()


def test_a_changed_pre_encoded_object_is_downloaded_again(
    run: Callable[..., Any], tmp_path: Path, store: Path
) -> None:
    _upload_three(None, tmp_path, store)
    run("sync", "s3://bkt/d/", "out")
    source = tmp_path / "data.json.gz"
    newer = source.stat().st_mtime + 10
    source.write_bytes(gzip.compress(CONTENT + b" ", mtime=0))
    os.utime(source, (newer, newer))
    run("cp", "--header", "Content-Encoding: gzip", "data.json.gz", "s3://bkt/d/pre.json")
    again = run("sync", "s3://bkt/d/", "out")
    assert _lines(again) == ["download: s3://bkt/d/pre.json -> out/pre.json"]
    assert "2 up to date" in again.stderr.decode()
    assert (tmp_path / "out" / "pre.json").read_bytes() == CONTENT + b" "


def test_up_to_date_is_quiet_with_q_and_json(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_bytes(b"alpha")
    cli("sync", "src", "s3://bkt/p", check=0)
    said = cli("sync", "src", "s3://bkt/p", check=0)
    assert said.stdout == b""
    assert said.stderr.decode() == "s3po: 1 up to date\n"
    for flag in ("-q", "--json", "--only-show-errors"):
        quiet = cli(flag, "sync", "src", "s3://bkt/p", check=0)
        assert quiet.stdout == b""
        assert quiet.stderr == b"", flag
