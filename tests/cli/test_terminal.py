"""Progress bars in a pseudo-terminal, and the CLI against the real S3 servers."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


def run_in_pty(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run ``args`` with stdin, stdout and stderr on a pseudo-terminal; return status, output."""
    leader, follower = pty.openpty()
    with subprocess.Popen(
        args, stdin=follower, stdout=follower, stderr=follower, cwd=cwd, env=env
    ) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        status = proc.wait(timeout=60)
    os.close(leader)
    return status, b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_reaches_100_percent(
    tmp_path: Path, store: Path, command: list[str], cli_env_for_tests: Any
) -> None:
    (tmp_path / "big.bin").write_bytes(os.urandom(40 * 1024 * 1024))
    args = [*command, "--root", str(store), "cp", "big.bin", "s3://bkt/big.bin"]
    status, output = run_in_pty([*args, "--part-size", "5MiB"], tmp_path, cli_env_for_tests)
    assert status == 0, output
    assert "100%" in output
    assert "40.0/40.0 MiB" in output
    assert "upload: big.bin -> s3://bkt/big.bin" in output


def test_no_progress_bar_without_a_terminal(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "f.bin").write_bytes(os.urandom(1024 * 1024))
    result = cli("cp", "f.bin", "s3://bkt/f.bin", check=0)
    assert result.stdout == b"upload: f.bin -> s3://bkt/f.bin\n"
    assert result.stderr == b""


def test_batch_progress_in_a_terminal(
    tmp_path: Path, store: Path, command: list[str], cli_env_for_tests: Any
) -> None:
    (tmp_path / "many").mkdir()
    for i in range(12):
        (tmp_path / "many" / f"f{i:02}").write_bytes(os.urandom(100_000))
    args = [*command, "--root", str(store), "cp", "-r", "many", "s3://bkt/many", "-j", "3"]
    status, output = run_in_pty(args, tmp_path, cli_env_for_tests)
    assert status == 0, output
    assert "12/12" in output
    assert output.count("upload: many/") == 12


@pytest.mark.integration
def test_cli_against_real_servers(
    cli: Any, tmp_path: Path, s3_server: Any, s3_bucket: str, make_tree: Any
) -> None:
    """The same session against moto and SeaweedFS."""
    env = {
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
    }
    remote = ["--backend", "s3", "--endpoint-url", s3_server.endpoint_url]
    remote += ["--region", s3_server.region]
    make_tree(tmp_path / "src", {"a.txt": b"alpha" * 100, "sub/b.txt": b"bravo"})

    def run(*args: str, check: int = 0) -> Any:
        return cli(*remote, *args, backend=False, check=check, env=env)

    run("sync", "src", f"s3://{s3_bucket}/p", "--compress", "gzip")
    # S3 lists no metadata: the second sync HEADs the pairs and finds nothing to do
    assert (
        run("sync", "src", f"s3://{s3_bucket}/p", "--compress", "gzip").stdout == b"2 up to date\n"
    )
    assert run("cat", f"s3://{s3_bucket}/p/a.txt").stdout == b"alpha" * 100
    listing = run("ls", f"s3://{s3_bucket}/p/").stdout.decode().splitlines()
    assert [line.split()[-1] for line in listing] == ["sub/", "a.txt"]  # PRE lines first
    run("rm", "-r", f"s3://{s3_bucket}/p")
    assert run("ls", "-r", f"s3://{s3_bucket}").stdout == b""
    run("head", f"s3://{s3_bucket}/p/a.txt", check=1)
