"""Background transfers, batches, handles, callbacks, back-pressure and cancellation."""

from __future__ import annotations

import concurrent.futures as cf
import functools
import os
import pickle
import threading
from pathlib import Path
from typing import Any

import pytest
from s3po_local import LocalBackend

import s3po
from s3po._scope import ByteBudget
from s3po.testing import FlakyBackend

MIB = 1024 * 1024


def _fds() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


def test_seed_snippets_verbatim(tmp_path: Path) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store")
    keys = [f"k{i}" for i in range(20)]
    for k in keys:
        conn.uploadString("bucket", k, f"value of {k}")
    data = "x" * 1000
    h = conn.uploadString("bucket", "key", data, background=True)
    assert isinstance(h, s3po.Handle)
    source = tmp_path / "some-path"
    source.write_bytes(b"payload" * 1000)
    conn.uploadFile("bucket", "key2", str(source), background=True, delete=True, retries=10)
    with conn.batch(30) as batch:
        results = {k: batch.downloadString("bucket", k) for k in keys}
    for k, handle in results.items():
        assert handle.value == f"value of {k}"
    seen: dict[str, str] = {}

    def foo(result: str, key: str) -> None:
        seen[key] = result

    with conn.batch(30) as batch:
        for k in keys:
            batch.downloadString("bucket", k, callback=functools.partial(foo, key=k))
    assert seen == {k: f"value of {k}" for k in keys}
    conn.wait()
    assert h.value.key == "key"
    assert not source.exists()
    assert conn.downloadBytes("bucket", "key2") == b"payload" * 1000
    conn.close()


def test_many_small_transfers_with_exact_callbacks(tmp_path: Path) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store", fsync=False)
    count = 10_000
    uploaded: list[str] = []
    downloaded: list[bytes] = []
    progress: list[s3po.BatchProgress] = []
    with conn.batch(64, on_progress=progress.append) as batch:
        for i in range(count):
            batch.upload_string(
                "bucket", f"small/{i:05d}", f"{i}", callback=lambda r: uploaded.append(r.key)
            )
    assert len(uploaded) == count
    assert len(set(uploaded)) == count
    assert progress[-1].done == count
    assert progress[-1].failed == 0
    with conn.batch(64) as batch:
        for i in range(count):
            batch.download_bytes("bucket", f"small/{i:05d}", callback=downloaded.append)
    assert sorted(int(d) for d in downloaded) == list(range(count))
    conn.close()


def test_errors_are_aggregated_after_everything_finished(tmp_path: Path) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store")
    for i in range(10):
        conn.upload_string("bucket", f"ok/{i}", "x")
    handles = {}
    with pytest.raises(s3po.BatchError) as caught, conn.batch(4) as batch:  # noqa: PT012
        for i in range(10):
            handles[f"ok/{i}"] = batch.download_string("bucket", f"ok/{i}")
        for name in ("missing/a", "missing/b"):
            handles[name] = batch.download_string("bucket", name)
    group = caught.value
    assert len(group.exceptions) == 2
    assert all(isinstance(e, s3po.NoSuchKey) for e in group.exceptions)
    assert "missing/a" in str(group)
    assert "missing/b" in str(group)
    assert all(h.done() for h in handles.values())
    assert handles["ok/3"].value == "x"
    with pytest.raises(s3po.NoSuchKey):
        _ = handles["missing/a"].value
    assert isinstance(handles["missing/b"].exception(), s3po.NoSuchKey)


def test_batch_error_supports_except_star(tmp_path: Path) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store")
    conn.create_bucket("bucket")
    caught: list[s3po.NotFound | ExceptionGroup[s3po.NotFound]] = []
    try:
        with conn.batch(2) as batch:
            batch.download_bytes("bucket", "nope")
            batch.upload_string("bucket", "fine", "ok")
    except* s3po.NotFound as group:
        caught.extend(group.exceptions)
    assert len(caught) == 1
    assert conn.download_string("bucket", "fine") == "ok"


def test_async_keyword_is_a_deprecated_alias(tmp_path: Path) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store")
    legacy: dict[str, Any] = {"async": True}  # a reserved word: only reachable via **
    with pytest.warns(DeprecationWarning, match="background=True"):
        handle = conn.uploadString("bucket", "k", "v", **legacy)
    assert isinstance(handle, s3po.Handle)
    conn.close()
    assert conn.downloadString("bucket", "k") == "v"


def test_background_failures_surface_on_wait(tmp_path: Path) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store")
    conn.create_bucket("bucket")
    handle = conn.download_bytes("bucket", "absent", background=True)
    with pytest.raises(s3po.BatchError, match="absent"):
        conn.wait()
    assert isinstance(handle.exception(), s3po.NoSuchKey)
    conn.wait()
    conn.close()


def test_callback_failure_fails_the_transfer(tmp_path: Path) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store")

    def bad(_result: object) -> None:
        msg = "callback bug"
        raise ValueError(msg)

    with pytest.raises(s3po.BatchError) as caught, conn.batch(2) as batch:
        batch.upload_string("bucket", "k", "v", callback=bad)
    assert isinstance(caught.value.exceptions[0], ValueError)


def test_submission_blocks_when_the_queue_is_full(tmp_path: Path) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store")
    gate = threading.Event()
    started = threading.Semaphore(0)

    def slow(_result: object) -> None:
        started.release()
        gate.wait(10)

    submitted = []
    batch = conn.batch(2, max_pending=3)

    def producer() -> None:
        for i in range(10):
            batch.upload_string("bucket", f"k{i}", "v", callback=slow)
            submitted.append(i)

    thread = threading.Thread(target=producer)
    thread.start()
    started.acquire(timeout=10)
    thread.join(0.3)
    assert thread.is_alive()
    assert len(submitted) <= 3
    gate.set()
    thread.join(10)
    with batch:
        pass
    assert len(submitted) == 10
    assert batch.runner.pending == 0


def test_byte_budget_waits_for_room_and_caps_requests() -> None:
    budget = ByteBudget(10)
    assert budget.acquire(4) == 4
    taken: list[int] = []
    waiter = threading.Thread(target=lambda: taken.append(budget.acquire(100)))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()
    assert taken == []
    budget.release(4)
    waiter.join(5)
    assert taken == [10]
    budget.release(10)
    assert budget.in_use == 0


def test_multipart_uploads_share_the_batch_budget(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "store", min_part_size=64 * 1024, fsync=False)
    chunk = s3po.ChunkConfig(threshold=128 * 1024, part_size=64 * 1024, max_concurrency=4)
    conn = s3po.Connection(backend, config=s3po.TransferConfig(chunk=chunk))
    peak = 0
    seen = threading.Lock()

    class Watch(s3po.ForwardingBackend):
        def put_part(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal peak
            with seen:
                peak = max(peak, batch._scope.budget.in_use)  # type: ignore[union-attr]
            return super().put_part(*args, **kwargs)

    conn.transfer.backend = Watch(backend)
    blobs = {f"big/{i}": os.urandom(600 * 1024) for i in range(6)}
    with conn.batch(6, max_inflight_bytes=3 * 64 * 1024) as batch:
        for key, blob in blobs.items():
            batch.upload_string("bucket", key, blob)
    assert 0 < peak <= 3 * 64 * 1024
    for key, blob in blobs.items():
        assert conn.download_bytes("bucket", key) == blob


def test_ctrl_c_cancels_queued_and_aborts_running_multipart(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "store", min_part_size=64 * 1024, fsync=False)
    gate = threading.Event()

    class Slow(s3po.ForwardingBackend):
        def put_part(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            gate.wait(5)
            return super().put_part(*args, **kwargs)

    chunk = s3po.ChunkConfig(threshold=128 * 1024, part_size=64 * 1024, max_concurrency=2)
    conn = s3po.Connection(Slow(backend), config=s3po.TransferConfig(chunk=chunk))
    blob = os.urandom(1024 * 1024)
    handles: list[s3po.Handle[s3po.UploadResult]] = []
    threading.Timer(0.3, gate.set).start()
    with pytest.raises(KeyboardInterrupt), conn.batch(2, max_pending=8) as batch:  # noqa: PT012
        handles.extend(batch.upload_string("bucket", f"big/{i}", blob) for i in range(8))
        raise KeyboardInterrupt
    assert all(h.done() for h in handles)
    assert list(backend.list_multipart("bucket")) == []
    assert any(h.cancelled() or h.exception() is not None for h in handles)
    assert sum(h.cancelled() or h.exception() is not None for h in handles) >= 6
    assert conn.list_names("bucket") == []


def test_no_threads_or_fds_leak(tmp_path: Path) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store", fsync=False)
    conn.upload_string("bucket", "warm", "x")
    threads, fds = threading.active_count(), _fds()
    for _ in range(3):
        with conn.batch(16) as batch:
            for i in range(200):
                batch.upload_string("bucket", f"k/{i}", "v" * i)
        with conn.batch(16) as batch:
            for i in range(200):
                batch.download_bytes("bucket", f"k/{i}")
    assert threading.active_count() <= threads
    assert _fds() <= fds


def test_progress_callback_ends_at_the_total(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "store", min_part_size=64 * 1024, fsync=False)
    flaky = FlakyBackend(backend, {"put_part": 2})
    chunk = s3po.ChunkConfig(threshold=128 * 1024, part_size=64 * 1024)
    conn = s3po.Connection(
        flaky, config=s3po.TransferConfig(chunk=chunk, retry=s3po.RetryConfig(base=0))
    )
    moved: list[int] = []
    path = tmp_path / "src.bin"
    path.write_bytes(os.urandom(700 * 1024))
    conn.upload_file("bucket", "p", path, progress=moved.append)
    assert sum(moved) == 700 * 1024
    assert flaky.calls["put_part"] == 11 + 2
    down: list[int] = []
    conn.download_file("bucket", "p", tmp_path / "out.bin", progress=down.append)
    assert sum(down) == 700 * 1024


def test_connection_pickles_and_rebuilds_its_backend(tmp_path: Path) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store", retries=7)
    conn.upload_string("bucket", "k", "v")
    clone = pickle.loads(pickle.dumps(conn))  # noqa: S301 - our own object
    assert clone.download_string("bucket", "k") == "v"
    assert clone.config.retry.retries == 7
    assert clone.backend is not conn.backend


def test_batch_on_any_executor(tmp_path: Path) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store")
    with cf.ThreadPoolExecutor(3) as pool:
        with conn.batch(executor=pool) as batch:
            handles = [batch.upload_string("bucket", f"e/{i}", str(i)) for i in range(20)]
        assert [h.value.key for h in handles] == [f"e/{i}" for i in range(20)]
        assert pool.submit(lambda: 1).result() == 1  # a borrowed executor stays open


def test_batch_on_a_dask_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    conn = s3po.Connection(backend="local", root=tmp_path / "store")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=2,
            processes=True,
            dashboard_address=None,
            scheduler_port=0,
            host="127.0.0.1",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with conn.batch(executor=client.get_executor()) as batch:
            handles = [batch.upload_string("bucket", f"d/{i}", f"v{i}") for i in range(20)]
        assert all(h.done() for h in handles)
    assert conn.list_names("bucket", "d/") == sorted(f"d/{i}" for i in range(20))
    assert conn.download_string("bucket", "d/7") == "v7"
