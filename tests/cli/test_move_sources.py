"""``cp --delete-source`` never deletes what it could not upload as it is: special files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import s3po


def test_moving_a_fifo_is_refused_and_it_is_kept(cli: Any, tmp_path: Path, store: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    result = cli("cp", "--delete-source", "pipe", "s3://bkt/pipe")
    assert result.returncode != 0
    assert b"not a regular file" in result.stderr
    assert (tmp_path / "pipe").exists()
    with s3po.Connection(backend="local", root=store) as conn:
        assert not conn.exists("bkt", "pipe")


def test_a_recursive_move_keeps_the_fifo_and_moves_the_rest(
    cli: Any, tmp_path: Path, store: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"alpha\n")
    os.mkfifo(src / "pipe")
    cli("cp", "-r", "--delete-source", "src", "s3://bkt/p")
    assert (src / "pipe").exists()
    assert not (src / "a.txt").exists()
    with s3po.Connection(backend="local", root=store) as conn:
        assert conn.download_bytes("bkt", "p/a.txt") == b"alpha\n"
        assert not conn.exists("bkt", "p/pipe")
