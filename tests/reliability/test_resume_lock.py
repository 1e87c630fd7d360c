"""Two processes resuming the same transfer at once: the second is refused, cleanup waits.

A child process runs a resumable upload (or download) on the local backend and blocks in
its second part (or range), holding its journal's lock. This process, trying the same
transfer, gets :class:`~s3po.TransferInProgress` naming the journal and its lock, and has
sent nothing; ``cleanup`` leaves the journal, and the upload it names, alone. Once the
child is SIGKILLed the kernel lets the lock go, and the same call resumes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from s3po_local import LocalBackend

import s3po
from s3po.resume import JournalLock, journal_dir, lock_path

KIB = 1024
PART = 64 * KIB

#: The child: one upload or download with resume on; the second UploadPart (or ranged
#: GET) blocks until the process is killed.
_CHILD = textwrap.dedent(
    """
    import json, sys, threading
    import s3po
    from s3po_local import LocalBackend

    args = json.loads(sys.argv[1])

    class Blocking(s3po.ForwardingBackend):
        calls = 0
        def _count(self):
            Blocking.calls += 1
            if Blocking.calls >= 2:
                threading.Event().wait()  # until killed
        def put_part(self, *a, **kw):
            self._count()
            return self.inner.put_part(*a, **kw)
        def get(self, *a, **kw):
            self._count()
            return self.inner.get(*a, **kw)

    chunk = s3po.ChunkConfig(threshold=args["part"], part_size=args["part"], max_concurrency=1)
    config = s3po.TransferConfig(chunk=chunk, resume=True)
    backend = Blocking(LocalBackend(args["local"], min_part_size=args["part"], fsync=False))
    with s3po.Connection(backend, config=config) as conn:
        if args["op"] == "upload":
            conn.upload_file("bucket", "k", args["path"])
        else:
            conn.download_file("bucket", "k", args["path"])
    """
)


class Counting(s3po.ForwardingBackend):
    """Counts the parts and GETs the store is asked for, below the stack."""

    def __init__(self, inner: s3po.Backend) -> None:
        super().__init__(inner)
        self.parts: list[int] = []
        self.gets: list[int] = []

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: s3po.PartBody
    ) -> s3po.PartInfo:
        self.parts.append(part_number)
        return self.inner.put_part(bucket, key, upload_id, part_number, data)

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> s3po.GetResult:
        self.gets.append(start)
        return self.inner.get(bucket, key, start=start, end=end, if_match=if_match)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return journal_dir()


@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[LocalBackend, Counting, s3po.Connection]]:
    store = LocalBackend(tmp_path / "store", min_part_size=PART, fsync=False)
    store.create_bucket("bucket")
    counting = Counting(store)
    chunk = s3po.ChunkConfig(threshold=PART, part_size=PART, max_concurrency=1)
    config = s3po.TransferConfig(chunk=chunk, resume=True, retry=s3po.RetryConfig(retries=0))
    with s3po.Connection(counting, config=config) as conn:
        yield store, counting, conn


@pytest.fixture
def child(tmp_path: Path, cache: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """``child(op, path, ready)``: start the blocking child; it is SIGKILLed at the end."""
    started: list[subprocess.Popen[bytes]] = []
    script = tmp_path / "child.py"
    script.write_text(_CHILD)

    def start(op: str, path: Path, ready: Callable[[], bool]) -> subprocess.Popen[bytes]:
        args = {"local": str(tmp_path / "store"), "part": PART, "op": op, "path": str(path)}
        env = {**os.environ, "XDG_CACHE_HOME": str(cache.parent.parent)}
        proc = subprocess.Popen(
            [sys.executable, str(script), json.dumps(args)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        started.append(proc)
        deadline = time.monotonic() + 20
        while not ready():
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"the child ended early: {err}")
            if time.monotonic() > deadline:
                pytest.fail("the child never blocked")
            time.sleep(0.02)
        return proc

    yield start
    for proc in started:
        kill(proc)


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    if proc.stderr is not None:
        proc.stderr.close()


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
    assert counting.gets == [0, PART, 2 * PART, 3 * PART]  # the opening GET, then the rest
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
