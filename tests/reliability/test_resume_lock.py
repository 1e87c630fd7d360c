"""Two processes resuming the same transfer at once: the second is refused, cleanup waits.

A child process runs a resumable upload (or download) on the local backend and blocks in
its second part (or range), holding its journal's lock. This process, trying the same
transfer, gets :class:`~s3po.TransferInProgress` naming the journal and its lock, and has
sent nothing; ``cleanup`` leaves the journal, and the upload it names, alone. Once the
child is SIGKILLed the kernel lets the lock go, and the same call resumes.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from s3po_local import LocalBackend
from s3po_reliability import (  # type: ignore[import-not-found]
    LOCAL_PART,
    Counting,
    kill,
    resumable_local,
    start_child,
    wait_until,
)

import s3po
from s3po.resume import JournalLock, journal_dir, lock_path

PART = LOCAL_PART


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return journal_dir()


@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[LocalBackend, Counting, s3po.Connection]]:
    with resumable_local(tmp_path / "store", s3po.RetryConfig(retries=0)) as made:
        yield made


@pytest.fixture
def child(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """``child(op, path, ready)``: start the child, blocking in its second part or range."""
    started: list[subprocess.Popen[bytes]] = []

    def start(op: str, path: Path, ready: Callable[[], bool]) -> subprocess.Popen[bytes]:
        args = {"local": str(tmp_path / "store"), "part": PART, "op": op, "path": str(path)}
        proc: subprocess.Popen[bytes] = start_child(tmp_path, args | {"block": 2})
        started.append(proc)
        wait_until(proc, ready)
        return proc

    yield start
    for proc in started:
        kill(proc)


def _journal(cache: Path) -> Path:
    (found,) = cache.glob("*.jsonl")
    return found


def _lines(cache: Path) -> int:
    files = list(cache.glob("*.jsonl")) if cache.is_dir() else []
    return len(files[0].read_text().splitlines()) if files else 0


def test_a_second_upload_of_the_same_journal_is_refused_while_the_first_runs(
    local: tuple[LocalBackend, Counting, s3po.Connection],
    child: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
    cache: Path,
) -> None:
    store, counting, conn = local
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(3 * PART + 7))
    proc = child("upload", path, lambda: _lines(cache) >= 2)  # header and part 1
    (upload,) = store.list_multipart("bucket")

    with pytest.raises(s3po.TransferInProgress) as caught:
        conn.upload_file("bucket", "k", path)

    journal = _journal(cache)
    assert caught.value.journal == str(journal)
    assert caught.value.lock == str(lock_path(journal))
    assert str(lock_path(journal)) in str(caught.value)
    assert "another process" in str(caught.value)
    assert counting.parts == []  # nothing sent
    assert list(store.list_multipart("bucket")) == [upload]  # the child's upload stands
    assert _lines(cache) == 2  # its journal as it was

    kill(proc)  # the kernel lets the lock go
    conn.upload_file("bucket", "k", path)
    assert counting.parts == [2, 3, 4]
    assert conn.download_bytes("bucket", "k") == path.read_bytes()
    assert list(store.list_multipart("bucket")) == []
    assert list(cache.iterdir()) == []  # journal and lock file gone


def test_a_second_download_of_the_same_journal_is_refused_while_the_first_runs(
    local: tuple[LocalBackend, Counting, s3po.Connection],
    child: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
    cache: Path,
) -> None:
    _store, counting, conn = local
    data = os.urandom(3 * PART + 7)
    conn.upload_string("bucket", "k", data)
    dest = tmp_path / "copy.bin"
    partial = dest.with_name(".copy.bin.s3po-partial")
    proc = child("download", dest, lambda: _lines(cache) >= 2)  # header and range 1
    counting.gets.clear()
    on_disk = partial.read_bytes()

    with pytest.raises(s3po.TransferInProgress) as caught:
        conn.download_file("bucket", "k", dest)

    assert caught.value.lock == str(lock_path(_journal(cache)))
    assert counting.gets == []
    assert partial.read_bytes() == on_disk  # the child's partial file untouched
    assert not dest.exists()

    kill(proc)
    conn.download_file("bucket", "k", dest)
    assert [start for start, _, _ in counting.gets] == [
        0,
        PART,
        2 * PART,
        3 * PART,
    ]  # the opening GET, then the rest
    assert dest.read_bytes() == data
    assert not partial.exists()
    assert list(cache.iterdir()) == []


def test_cleanup_leaves_a_journal_in_use_and_its_upload_alone(
    local: tuple[LocalBackend, Counting, s3po.Connection],
    child: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
    cache: Path,
) -> None:
    store, _counting, conn = local
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(3 * PART + 7))
    proc = child("upload", path, lambda: _lines(cache) >= 2)
    (upload,) = store.list_multipart("bucket")
    journal = _journal(cache)

    assert conn.cleanup("bucket") == []

    assert journal.is_file()
    assert list(store.list_multipart("bucket")) == [upload]
    kill(proc)
    assert [u.upload_id for u in conn.cleanup("bucket")] == [upload.upload_id]
    assert list(cache.iterdir()) == []  # the journal, and the lock file the child left


def test_a_lock_is_exclusive_within_a_process_and_survives_a_removed_file(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.up.jsonl"
    first, second = JournalLock(journal), JournalLock(journal)
    assert first.acquire()
    assert not second.acquire()
    assert second.in_use()
    first.release()
    assert not lock_path(journal).exists()
    assert not second.in_use()
    # A lock file left by a holder that died (no flock on it) is taken over.
    lock_path(journal).write_bytes(b"")
    assert second.acquire()
    assert not first.acquire()
    second.release()


def _hold(path: str, ready: Any, done: Any) -> None:
    lock = JournalLock(Path(path))
    assert lock.acquire()
    ready.set()
    done.wait(20)
    lock.release()


def test_a_lock_held_in_another_process_is_seen_as_in_use(tmp_path: Path) -> None:
    import multiprocessing as mp  # noqa: PLC0415 - only this test

    ctx = mp.get_context("fork")
    ready, done = ctx.Event(), ctx.Event()
    journal = tmp_path / "j.down.jsonl"
    holder = ctx.Process(target=_hold, args=(str(journal), ready, done))
    holder.start()
    try:
        assert ready.wait(10)
        mine = JournalLock(journal, bucket="b", key="k")
        assert mine.in_use()
        with pytest.raises(s3po.TransferInProgress, match="s3://b/k"), mine:
            pass
    finally:
        done.set()
        holder.join(10)
    assert holder.exitcode == 0
    with JournalLock(journal):
        pass
