"""The mode of a downloaded file: the umask for a new file, the old mode for a replaced one.

``cp`` and ``aws s3 cp`` create files ``0666 & ~umask`` and keep the mode of a file they
overwrite. The file sink writes a temporary file and renames it over the target, so the
mode is set on the temporary file before the rename; while it is written it is no more open
than the file it replaces.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import s3po

KIB = 1024


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    """``umask(0o077)``: set the process umask for the test; the old one comes back after."""
    old = os.umask(0o022)
    os.umask(old)

    def set_umask(mask: int) -> None:
        os.umask(mask)

    yield set_umask
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("mask", "expected"),
    [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)],
    ids=["umask022", "umask077", "umask002"],
)
@pytest.mark.parametrize("size", [10, 300 * KIB], ids=["single", "ranged"])
def test_a_new_file_gets_the_umask(
    make_conn: Callable[..., s3po.Connection],
    tmp_path: Path,
    umask: Callable[[int], None],
    mask: int,
    expected: int,
    size: int,
) -> None:
    conn = make_conn()
    conn.upload_string("bucket", "k", b"x" * size)
    umask(mask)
    target = tmp_path / "new.bin"
    conn.download_file("bucket", "k", target)
    assert _mode(target) == expected
    assert target.read_bytes() == b"x" * size


@pytest.mark.parametrize(
    ("mask", "existing"),
    [(0o022, 0o640), (0o077, 0o640), (0o022, 0o600)],
    ids=["0640-umask022", "0640-umask077", "0600-umask022"],
)
def test_a_replaced_file_keeps_its_mode(
    make_conn: Callable[..., s3po.Connection],
    tmp_path: Path,
    umask: Callable[[int], None],
    mask: int,
    existing: int,
) -> None:
    conn = make_conn()
    conn.upload_string("bucket", "k", b"new content")
    target = tmp_path / "old.txt"
    target.write_bytes(b"old")
    target.chmod(existing)
    umask(mask)
    conn.download_file("bucket", "k", target)
    assert _mode(target) == existing
    assert target.read_bytes() == b"new content"


def test_a_replaced_setuid_file_loses_setuid_as_a_write_would(
    make_conn: Callable[..., s3po.Connection], tmp_path: Path
) -> None:
    conn = make_conn()
    conn.upload_string("bucket", "k", b"new content")
    target = tmp_path / "tool"
    target.write_bytes(b"old")
    target.chmod(0o4755)
    conn.download_file("bucket", "k", target)
    assert _mode(target) == 0o755


def test_the_temporary_file_is_no_more_open_than_the_file_it_replaces(
    make_conn: Callable[..., s3po.Connection], tmp_path: Path, umask: Callable[[int], None]
) -> None:
    """A private file being replaced is not readable by others while the new bytes land."""
    conn = make_conn()
    conn.upload_string("bucket", "k", b"secret " * 1000)
    target = tmp_path / "private.txt"
    target.write_bytes(b"old secret")
    target.chmod(0o600)
    umask(0o022)
    seen: list[int] = []

    def progress(_n: int) -> None:
        seen.extend(_mode(p) for p in tmp_path.glob(".private.txt.*.s3po-part"))

    conn.download_file("bucket", "k", target, progress=progress)
    assert seen
    assert set(seen) == {0o600}
    assert _mode(target) == 0o600


def test_a_failed_download_leaves_the_old_file_and_its_mode(
    make_conn: Callable[..., s3po.Connection], tmp_path: Path
) -> None:
    conn = make_conn()
    target = tmp_path / "kept.txt"
    target.write_bytes(b"old")
    target.chmod(0o640)
    with pytest.raises(s3po.NotFound):
        conn.download_file("bucket", "missing", target)
    assert _mode(target) == 0o640
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".kept")) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_download_onto_a_pipe_is_refused_and_the_pipe_kept(
    conn: s3po.Connection, tmp_path: Path
) -> None:
    """The rename that makes a download atomic would replace a device or FIFO with a file."""
    conn.create_bucket("bkt")
    conn.upload_string("bkt", "k", "data")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(s3po.InvalidRequest, match="not a regular file"):
        conn.download_file("bkt", "k", fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
