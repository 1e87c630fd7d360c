"""Symlinks in a local source, as aws-cli treats them.

``--follow-symlinks`` (the default) uploads what links point at, folders included; a real
folder that a link also points at is listed under both names (it is not a loop). A broken
link, or a link that leads back into a folder it is inside of (a loop), is named in a
warning, the rest is done, and the command ends with exit status 2; ``--delete`` keeps the
remote copies of such entries. ``--no-follow-symlinks`` leaves links out, silently.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import s3po


def _names(store: Path, prefix: str) -> list[str]:
    with s3po.Connection(backend="local", root=store) as conn:
        return conn.list_names("bkt", prefix)


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """``src`` with a real folder, a link to it, a link to a folder outside, a file link."""
    src = tmp_path / "src"
    (src / "real").mkdir(parents=True)
    (src / "real" / "a.txt").write_bytes(b"alpha")
    (src / "to-real").symlink_to("real")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.txt").write_bytes(b"bravo")
    (src / "to-outside").symlink_to(outside)
    (src / "c-link.txt").symlink_to(outside / "b.txt")
    return src


@pytest.mark.parametrize("command", ["cp", "sync"])
@pytest.mark.usefixtures("linked")
def test_folder_symlinks_are_followed_and_a_shared_target_is_no_loop(
    cli: Any, store: Path, command: str
) -> None:
    args = [command, "-r"] if command == "cp" else [command]
    result = cli(*args, "src", "s3://bkt/p", check=0)
    assert result.stderr == b"", result.stderr.decode()
    assert _names(store, "p/") == [
        "p/c-link.txt",
        "p/real/a.txt",
        "p/to-outside/b.txt",
        "p/to-real/a.txt",
    ]


@pytest.mark.usefixtures("linked")
def test_no_follow_symlinks_leaves_links_out_silently(cli: Any, store: Path) -> None:
    result = cli("sync", "--no-follow-symlinks", "src", "s3://bkt/p", check=0)
    assert result.stderr == b""
    assert _names(store, "p/") == ["p/real/a.txt"]


@pytest.mark.usefixtures("linked")
def test_no_follow_symlinks_delete_keeps_the_remote_copies_of_links(cli: Any, store: Path) -> None:
    cli("sync", "src", "s3://bkt/p", check=0)
    cli("sync", "--delete", "--no-follow-symlinks", "src", "s3://bkt/p", check=0)
    assert len(_names(store, "p/")) == 4


def test_a_broken_symlink_is_a_warning_and_exit_2_after_the_rest(
    cli: Any, tmp_path: Path, store: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_bytes(b"fine")
    (src / "gone.txt").symlink_to("nowhere.txt")
    result = cli("sync", "src", "s3://bkt/p", check=2)
    err = result.stderr.decode()
    assert "warning" in err
    assert "gone.txt" in err
    assert "broken symlink" in err
    assert _names(store, "p/") == ["p/ok.txt"]


@pytest.mark.parametrize("loop", ["parent", "self"])
def test_a_symlink_loop_is_reported_not_followed(
    cli: Any, tmp_path: Path, store: Path, loop: str
) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.txt").write_bytes(b"alpha")
    if loop == "parent":
        (src / "sub" / "up").symlink_to("..")  # src/sub/up -> src
    else:
        (src / "sub" / "up").symlink_to("up")  # resolves to itself: ELOOP
    result = cli("cp", "-r", "src", "s3://bkt/p", check=2)
    err = result.stderr.decode()
    assert "sub/up" in err
    assert "loop" in err
    assert _names(store, "p/") == ["p/sub/a.txt"]


def test_a_broken_link_beside_a_real_failure_exits_1(cli: Any, tmp_path: Path, store: Path) -> None:
    """Warnings say 2 only when nothing failed; an unreadable FIFO is a failure (1)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_bytes(b"fine")
    (src / "gone.txt").symlink_to("nowhere.txt")
    os.mkfifo(src / "pipe")
    cli("sync", "src", "s3://bkt/p", check=1)
    assert _names(store, "p/") == ["p/ok.txt"]


def test_one_file_symlink_is_followed_unless_told_not_to(
    cli: Any, tmp_path: Path, store: Path
) -> None:
    (tmp_path / "target.txt").write_bytes(b"pointed at")
    (tmp_path / "link.txt").symlink_to("target.txt")
    cli("cp", "link.txt", "s3://bkt/one.txt", check=0)
    with s3po.Connection(backend="local", root=store) as conn:
        assert conn.download_bytes("bkt", "one.txt") == b"pointed at"
    skipped = cli("cp", "--no-follow-symlinks", "link.txt", "s3://bkt/two.txt", check=2)
    assert "link.txt" in skipped.stderr.decode()
    assert _names(store, "") == ["one.txt"]
    (tmp_path / "dangling.txt").symlink_to("nowhere.txt")
    broken = cli("cp", "dangling.txt", "s3://bkt/three.txt", check=2)
    assert "broken symlink" in broken.stderr.decode()
