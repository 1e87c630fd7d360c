"""A batch's own pool: jobs fill their handles, a cancel finishes what never started.

The pool is an Executor as well (``submit`` gives futures), starts threads only as work
arrives, and never loses a job: each one runs once or is cancelled, and its handle ends
either way.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
from pathlib import Path

import pytest

import s3po
from s3po.client.background import Handle, Runner
from s3po.client.workers import Tokens, Workers


def test_submit_gives_a_future_with_the_result_or_the_error() -> None:
    pool = Workers(2)
    try:
        assert pool.submit(lambda a, b: a + b, 2, b=3).result(timeout=5) == 5
        failed = pool.submit(lambda: 1 / 0)
        assert isinstance(failed.exception(timeout=5), ZeroDivisionError)
    finally:
        pool.shutdown()


def test_threads_start_only_as_work_arrives_and_never_past_the_limit() -> None:
    pool = Workers(3, name="t")
    try:
        assert pool.submit(threading.current_thread).result(timeout=5).name == "t_0"
        gate = threading.Event()
        futures = [pool.submit(gate.wait, 5) for _ in range(10)]
        names = {t.name for t in threading.enumerate() if t.name.startswith("t_")}
        assert names == {"t_0", "t_1", "t_2"}
        gate.set()
        assert all(f.result(timeout=5) for f in futures)
    finally:
        pool.shutdown()


def test_shutdown_cancels_what_has_not_started_and_refuses_more() -> None:
    pool = Workers(1)
    gate = threading.Event()
    running = pool.submit(gate.wait, 5)
    queued = [pool.submit(lambda: "ran") for _ in range(5)]
    pool.shutdown(wait=False, cancel_futures=True)
    assert all(f.cancelled() for f in queued)
    gate.set()
    assert running.result(timeout=5) is True
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(lambda: None)
    pool.shutdown()


def _busy(max_pending: int) -> tuple[Runner, threading.Event, Handle[bool]]:
    """A runner on one worker, busy with a first call until the event is set."""
    runner = Runner(Workers(1), max_pending=max_pending, own_executor=True)
    gate = threading.Event()
    return runner, gate, runner.submit(Handle("op", "b", "first"), lambda: gate.wait(5))


def test_a_cancelled_run_ends_its_handle_and_frees_its_slot() -> None:
    runner, gate, first = _busy(3)
    queued = [runner.submit(Handle("op", "b", f"k{i}"), lambda: "ran") for i in range(2)]
    runner.cancel()
    for handle in queued:
        assert isinstance(handle.exception(timeout=5), cf.CancelledError)
    gate.set()
    assert first.result(timeout=5) is True
    assert runner.wait(timeout=5)
    assert sorted(h.key for h in runner.failures()) == ["k0", "k1"]
    assert runner.pending == 0
    runner.shutdown()


def test_a_cancelled_run_gives_its_slot_back() -> None:
    runner, gate, first = _busy(2)
    queued = runner.submit(Handle("op", "b", "queued"), lambda: "ran")
    run = queued.inner  # the one worker is busy with the first: this one waits
    assert run is not None
    assert run.cancel() is True
    assert run.cancel() is False  # once only
    assert isinstance(queued.exception(timeout=5), cf.CancelledError)
    third = runner.submit(Handle("op", "b", "third"), lambda: "ran")  # its slot is free
    gate.set()
    assert first.result(timeout=5) is True
    assert third.result(timeout=5) == "ran"
    runner.shutdown()


def test_tokens_bound_what_is_taken() -> None:
    tokens = Tokens(2)
    tokens.take()
    tokens.take()
    taken = threading.Event()

    def third() -> None:
        tokens.take()
        taken.set()

    waiter = threading.Thread(target=third)
    waiter.start()
    assert not taken.wait(0.2)
    tokens.give()
    assert taken.wait(5)
    waiter.join()


def test_a_batch_runs_on_its_own_pool_and_its_handles_need_no_inner_future(
    tmp_path: Path,
) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path)
    conn.create_bucket("bucket")
    with conn.batch(4) as batch:
        assert isinstance(batch.runner.executor, Workers)
        handles = [batch.upload_string("bucket", f"k{i}", f"body {i}") for i in range(20)]
    assert all(h.inner is None for h in handles)
    assert [conn.download_string("bucket", f"k{i}") for i in range(20)] == [
        f"body {i}" for i in range(20)
    ]
