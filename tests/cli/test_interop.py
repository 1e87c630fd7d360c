"""What other tools wrote, and output that stays quiet.

Every test runs the real console script (see conftest.py).
"""

from __future__ import annotations

import gzip
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import s3po
from s3po import Headers

CSV = b"id,name\n" + b"".join(b"%d,row %d\n" % (i, i) for i in range(300))


# -- objects other tools wrote or rewrote -------------------------------------------------


def test_cat_and_cp_of_aws_chunked_objects(cli: Any, tmp_path: Path, store: Path) -> None:
    with s3po.Connection(backend="local", root=store) as conn:
        conn.backend.put("bkt", "plain", CSV, headers=Headers(content_encoding="aws-chunked"))
        conn.backend.put(
            "bkt", "gz", gzip.compress(CSV), headers=Headers(content_encoding="aws-chunked, gzip")
        )
    assert cli("cat", "s3://bkt/plain", check=0).stdout == CSV
    assert cli("cat", "s3://bkt/gz", check=0).stdout == CSV
    cli("cp", "s3://bkt/gz", "out.csv", check=0)
    assert (tmp_path / "out.csv").read_bytes() == CSV


def test_dropped_encoding_through_the_cli(cli: Any, store: Path) -> None:
    with s3po.Connection(backend="local", root=store) as conn:
        conn.upload_string("bkt", "k", CSV, compress="gzip")
        stored = conn.download_bytes("bkt", "k", decompress=False)
        kept = Headers(metadata=dict(conn.head("bkt", "k").headers.metadata))
        conn.backend.put("bkt", "k", stored, headers=kept)
    assert cli("cat", "--no-decompress", "s3://bkt/k", check=0).stdout == stored
    result = cli("cat", "s3://bkt/k", check=0)
    assert result.stdout == CSV
    assert b"s3po-codec" in result.stderr  # the warning says what was done
    assert cli("-q", "cat", "s3://bkt/k", check=0).stderr == b""


# -- quiet, honest output ---------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("flag", ["-q", "--json"])
def test_quiet_against_a_real_server_says_nothing_on_stderr(
    cli: Any, tmp_path: Path, moto_server: Any, flag: str
) -> None:
    """botocore logs "Found credentials in environment variables" at INFO: not shown."""
    moto_server.reset()
    env = {
        "AWS_ACCESS_KEY_ID": moto_server.access_key,
        "AWS_SECRET_ACCESS_KEY": moto_server.secret_key,
    }
    remote = ["--backend", "s3", "--endpoint-url", moto_server.endpoint_url]
    remote += ["--region", moto_server.region]
    moto_server.admin.create_bucket(Bucket="quiet-bucket")
    (tmp_path / "a.txt").write_bytes(b"alpha")
    for args in (
        ("cp", "a.txt", "s3://quiet-bucket/a.txt"),
        ("ls", "s3://quiet-bucket/"),
        ("cp", "s3://quiet-bucket/a.txt", "back.txt"),
    ):
        result = cli(*remote, flag, *args, backend=False, env=env, check=0)
        assert result.stderr == b"", result.stderr.decode()
    verbose = cli(*remote, "-vv", "ls", "s3://quiet-bucket/", backend=False, env=env, check=0)
    assert b"Found credentials" in verbose.stderr


def _into_a_closed_pipe(command: list[str], cwd: Path, env: dict[str, str]) -> Any:
    """Run with standard output a pipe whose reader is already gone."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            command,
            check=False,
            stdout=writer,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            timeout=60,
        )
    finally:
        os.close(writer)


@pytest.mark.parametrize(
    "args",
    [
        ("ls", "-r", "s3://bkt/"),
        ("ls", "--json", "-r", "s3://bkt/"),
        ("cp", "-r", "s3://bkt/many/", "down"),
        ("cat", "s3://bkt/many/f00"),
    ],
    ids=["ls", "ls-json", "cp-r", "cat"],
)
def test_a_closed_pipe_ends_quietly(
    tmp_path: Path,
    store: Path,
    command: list[str],
    cli_env_for_tests: dict[str, str],
    args: tuple[str, ...],
) -> None:
    with s3po.Connection(backend="local", root=store) as conn:
        for i in range(40):
            conn.upload_string("bkt", f"many/f{i:02}", b"x" * 70_000)
    result = _into_a_closed_pipe(
        [*command, "--backend", "local", "--root", str(store), *args], tmp_path, cli_env_for_tests
    )
    assert result.stderr == b""
    assert result.returncode == 141
