"""Nothing destructive follows a listing that did not finish, or an entry that cannot be read.

The attack: ``s3po --endpoint-url http://127.0.0.1:9 sync --delete s3://b/tree ./victim``
used to read the failed listing as an empty one, delete every file in ./victim and exit 0.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import s3po

UNREACHABLE = ["--endpoint-url", "http://127.0.0.1:9", "--retries", "1"]
KEYS = {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1"}


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    (victim / "sub").mkdir(parents=True)
    (victim / "a.txt").write_bytes(b"keep me")
    (victim / "sub" / "b.txt").write_bytes(b"keep me too")
    return victim


@pytest.mark.parametrize(
    "args",
    [
        ["sync", "--delete", "s3://mybucket/tree", "victim"],
        ["sync", "--delete", "victim", "s3://mybucket/tree"],
        ["ls", "s3://mybucket/tree/"],
        ["ls", "-r", "s3://mybucket/"],
        ["rm", "-r", "s3://mybucket/tree/"],
        ["cp", "-r", "s3://mybucket/tree/", "victim"],
        ["cleanup", "s3://mybucket/"],
    ],
    ids=["sync-down", "sync-up", "ls", "ls-r", "rm-r", "cp-r", "cleanup"],
)
def test_an_unreachable_store_fails_the_command_and_deletes_nothing(
    cli: Any, tmp_path: Path, args: list[str]
) -> None:
    victim = _victim(tmp_path)
    result = cli(*UNREACHABLE, *args, backend=False, env=KEYS)
    assert result.returncode == 1, result.stderr.decode()
    assert b"failed after" in result.stderr  # the retries were spent, then it said so
    assert sorted(p.name for p in victim.rglob("*")) == ["a.txt", "b.txt", "sub"]


def test_sync_delete_from_a_missing_bucket_deletes_nothing(cli: Any, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    result = cli("sync", "--delete", "s3://no-such-bucket/tree", "victim")
    assert result.returncode == 1, result.stderr.decode()
    assert b"no-such-bucket" in result.stderr
    assert (victim / "a.txt").read_bytes() == b"keep me"


def test_sync_delete_keeps_the_remote_copy_of_an_unreadable_source(
    cli: Any, tmp_path: Path, store: Path
) -> None:
    src = tmp_path / "src"
    (src / "dir").mkdir(parents=True)
    (src / "ok.txt").write_bytes(b"fine")
    (src / "gone.txt").symlink_to(src / "nowhere")  # dangling
    os.mkfifo(src / "dir" / "pipe")  # exists, but is not a file to upload
    with s3po.Connection(backend="local", root=store) as conn:
        for key in ("site/gone.txt", "site/dir/pipe", "site/extra.txt"):
            conn.upload_string("bkt", key, b"remote copy")
    result = cli("sync", "--delete", "src", "s3://bkt/site")
    assert result.returncode == 1, result.stderr.decode()
    out = result.stdout.decode() + result.stderr.decode()
    assert "gone.txt" in out
    assert "pipe" in out
    with s3po.Connection(backend="local", root=store) as conn:
        assert conn.list_names("bkt", "site/") == [
            "site/dir/pipe",
            "site/gone.txt",
            "site/ok.txt",
        ]  # extra.txt was deleted; the two unreadable entries' remote copies were kept


def test_sync_delete_keeps_everything_under_an_unreadable_folder(
    cli: Any, tmp_path: Path, store: Path
) -> None:
    src = tmp_path / "src"
    (src / "locked").mkdir(parents=True)
    (src / "ok.txt").write_bytes(b"fine")
    with s3po.Connection(backend="local", root=store) as conn:
        conn.upload_string("bkt", "site/locked/inside.txt", b"remote copy")
    # root reads any folder, so the folder is made unreadable by a symlink loop instead
    (src / "locked").rmdir()
    (src / "locked").symlink_to(src / "locked")
    result = cli("sync", "--delete", "src", "s3://bkt/site")
    # a symlink loop is skipped with a warning and exit status 2, as aws-cli does
    assert result.returncode == 2, result.stderr.decode()
    assert b"warning" in result.stderr
    assert b"locked" in result.stderr
    with s3po.Connection(backend="local", root=store) as conn:
        assert "site/locked/inside.txt" in conn.list_names("bkt", "site/")
