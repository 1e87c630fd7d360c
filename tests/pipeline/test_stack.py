"""The stack as Transfer builds it: its order, integrity as a layer, one pool, cancel."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from s3po_local import LocalBackend

import s3po
from s3po._scope import POOL_PREFIX, Scope

KIB = 1024
#: Above the 128 KiB threshold of the pipeline fixtures: 64 KiB parts and ranges.
LARGE = 600 * KIB


def test_the_stack_is_built_outermost_first(pconn: s3po.Connection) -> None:
    assert repr(pconn.transfer.stack()).startswith(
        "Integrity(CodecLayer(Chunking(Retry(LocalBackend("
    )


@pytest.mark.parametrize("size", [50 * KIB, LARGE], ids=["single", "ranged"])
def test_a_stack_built_without_transfer_verifies(
    pconn: s3po.Connection, store: LocalBackend, tmp_path: Path, size: int
) -> None:
    pconn.upload_string("bucket", "k", bytes(range(256)) * (size // 256))
    stored = tmp_path / "store" / "bucket" / "k"
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    with pconn.transfer.stack().get("bucket", "k") as result, pytest.raises(s3po.CorruptData):
        result.body.readall()
    sink_target = tmp_path / "out.bin"
    with (
        pytest.raises(s3po.CorruptData),
        s3po.transfer.FileSink(sink_target, bucket="bucket", key="k") as sink,
        pconn.transfer.stack().get("bucket", "k") as result,
    ):
        result.body.drain(sink)
    assert not sink_target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []
    assert store.head("bucket", "k").size == size


class _CancelAfter(s3po.ForwardingBackend):
    """Cancels ``scope`` once ``after`` ranged GETs have been opened."""

    def __init__(self, inner: s3po.Backend, scope: Scope, after: int) -> None:
        super().__init__(inner)
        self.scope = scope
        self.after = after
        self.ranges = 0
        self.lock = threading.Lock()

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> s3po.GetResult:
        if start > 0:
            with self.lock:
                self.ranges += 1
                if self.ranges >= self.after:
                    self.scope.cancelled.set()
        return self.inner.get(bucket, key, start=start, end=end, if_match=if_match)


@pytest.mark.parametrize("to_file", [True, False], ids=["file", "memory"])
def test_cancel_stops_a_ranged_download_between_ranges(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    tmp_path: Path,
    to_file: bool,
) -> None:
    make_conn().upload_string("bucket", "k", b"z" * (2 * LARGE))
    scope = Scope()
    cancelling = _CancelAfter(store, scope, after=2)
    conn = make_conn(cancelling)
    target = tmp_path / "out" / "big.bin"

    def run() -> object:
        if to_file:
            return conn.transfer.download("bucket", "k", target, scope=scope)
        return conn.transfer.read("bucket", "k", scope=scope)

    with pytest.raises(s3po.Cancelled):
        run()
    total = -(-2 * LARGE // (64 * KIB)) - 1
    assert cancelling.ranges < total
    assert not target.exists()
    assert not target.parent.exists() or list(target.parent.iterdir()) == []


class _Threads(s3po.ForwardingBackend):
    """Records the thread that runs each part upload and each ranged GET."""

    def __init__(self, inner: s3po.Backend) -> None:
        super().__init__(inner)
        self.names: set[str] = set()
        self.lock = threading.Lock()

    def _note(self) -> None:
        with self.lock:
            self.names.add(threading.current_thread().name)

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: s3po.PartBody
    ) -> s3po.PartInfo:
        self._note()
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
        if start > 0:
            self._note()
        return self.inner.get(bucket, key, start=start, end=end, if_match=if_match)


def test_parts_and_ranges_of_a_batch_share_one_pool(
    make_conn: Callable[..., s3po.Connection], store: LocalBackend, tmp_path: Path
) -> None:
    threads = _Threads(store)
    conn = make_conn(threads)
    files = []
    for i in range(6):
        path = tmp_path / f"src{i}"
        path.write_bytes(bytes([i]) * LARGE)
        files.append(path)
    workers = 3
    with conn.batch(workers) as batch:
        for i, path in enumerate(files):
            batch.upload_file("bucket", f"f{i}", path)
            batch.upload_string("bucket", f"s{i}", bytes([i]) * LARGE, compress="gzip")
    with conn.batch(workers) as batch:
        for i in range(6):
            batch.download_file("bucket", f"f{i}", tmp_path / f"back{i}")
            batch.download_bytes("bucket", f"f{i}")
    assert threads.names
    assert all(name.startswith(POOL_PREFIX) for name in threads.names), threads.names
    # One pool per batch, of max(max_concurrency, workers) threads (4 here), not one per
    # transfer: twelve multipart uploads and twelve ranged downloads ran.
    assert len(threads.names) <= 2 * max(4, workers)
    assert (tmp_path / "back5").read_bytes() == bytes([5]) * LARGE


@pytest.mark.parametrize("size", [50 * KIB, LARGE], ids=["single", "ranged"])
def test_a_body_drains_in_order_into_a_sequential_sink(pconn: s3po.Connection, size: int) -> None:
    data = os.urandom(size)
    pconn.upload_string("bucket", "k", data)
    seen: list[int] = []
    sink = s3po.transfer.MemorySink(progress=seen.append)
    with pconn.transfer.stack().get("bucket", "k") as result:
        assert result.body.drain(sink) == size
    assert sink.getvalue() == data
    assert sum(seen) == sink.written == size
    with pytest.raises(TypeError, match="in order"):
        sink.copy_range(s3po.BytesBody(b"x"), 0, 1)
