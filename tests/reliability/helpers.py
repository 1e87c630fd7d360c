"""Helpers for the reliability tests (``tests/reliability/conftest.py`` imports this by path).

Test modules import it as ``s3po_reliability``, the name the conftest registers it under,
before any test module of this folder is collected.
"""

from __future__ import annotations

import importlib.util
import random
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import s3po
from s3po.middleware.retry import RetryEvent

MIB = 1024 * 1024
#: The client's read timeout; a ``stall`` fault outlasts it.
READ_TIMEOUT = 1.0
STALL_SECONDS = 2.5
#: S3 needs parts of 5 MiB or more; the smallest legal plan keeps the tests quick.
PARTS = s3po.ChunkConfig(threshold=5 * MIB, part_size=5 * MIB, max_concurrency=4)


def _load_faults() -> ModuleType:
    """Import tests/faults.py by path, as tests/conftest.py does with servers.py."""
    name = "s3po_test_faults"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent.parent / "faults.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


faults = _load_faults()


def data(n: int, seed: int = 0) -> bytes:
    """``n`` repeatable, incompressible bytes."""
    return random.Random(f"s3po-data-{seed}").randbytes(n)


def text(n: int, seed: int = 0) -> bytes:
    """``n`` repeatable, compressible bytes."""
    line = f"line {seed}: the quick brown fox jumps over the lazy dog\n".encode()
    return (line * (n // len(line) + 1))[:n]


class Retries:
    """Collects the operation and message of each retry, thread-safely.

    Only text is kept: an event's error holds a traceback, whose frames would keep
    connections alive and hide whether the client released them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[tuple[str, str]] = []

    def __call__(self, event: RetryEvent) -> None:
        with self._lock:
            self.events.append((event.operation, str(event.error)))

    def __len__(self) -> int:
        with self._lock:
            return len(self.events)


def connect(
    server: Any,
    proxy: Any,
    *,
    retries: int = 3,
    base: float = 0.01,
    chunk: s3po.ChunkConfig = PARTS,
    on_retry: Callable[[RetryEvent], None] | None = None,
    **options: Any,
) -> s3po.Connection:
    """A Connection to ``server`` through ``proxy``, with a short read timeout.

    ``base`` shortens the backoff (the retry count is what the tests are about); the jitter
    and the cap are the defaults.
    """
    settings = {
        **server.options(),
        "endpoint_url": proxy.url,
        "read_timeout": READ_TIMEOUT,
        "connect_timeout": 5.0,
        **options,
    }
    config = s3po.TransferConfig(
        chunk=chunk, retry=s3po.RetryConfig(retries=retries, base=base, cap=1.0)
    )
    conn = s3po.Connection("s3", config=config, **settings)
    conn.transfer.on_retry = on_retry
    return conn


def open_uploads(server: Any, bucket: str) -> list[dict[str, Any]]:
    """Incomplete multipart uploads in ``bucket``, straight from the server."""
    return list(server.admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def stored_keys(server: Any, bucket: str) -> set[str]:
    """Every key in ``bucket``, straight from the server."""
    keys: set[str] = set()
    for page in server.admin.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.update(item["Key"] for item in page.get("Contents", ()))
    return keys


def orphans_expected(proxy: Any) -> int:
    """CreateMultipartUpload requests the server carried out but whose answer was lost, and
    whose upload nothing aborted since.

    S3 gives the upload id only in that answer, so the client cannot know these ids; s3po
    looks for such uploads of the key once the start is over and aborts them, so only those
    it could not find (its listing or abort failed too) remain. ``Connection.cleanup`` is
    the remedy for those, and the tests check it finds exactly these.
    """
    lost = {
        r.upload_id
        for r in proxy.requests("CreateMultipartUpload")
        if r.fault in faults.FORWARDED and r.status == 200 and r.upload_id
    }
    aborted = {
        r.request.params.get("uploadId")
        for r in proxy.requests("AbortMultipartUpload")
        if r.forwarded and r.status is not None and 200 <= r.status < 300  # the server did abort
    }
    return len(lost - aborted)


#: The S3 operation behind each retry layer operation name.
_S3_OPERATION = {
    "put": "PutObject",
    "put_part": "UploadPart",
    "start_multipart": "CreateMultipartUpload",
    "complete_multipart": "CompleteMultipartUpload",
    "abort_multipart": "AbortMultipartUpload",
    "get": "GetObject",  # also "get (resume)"
    "head": "HeadObject",
    "delete": "DeleteObject",
    "list": "ListObjects",
    "list_multipart": "ListMultipartUploads",
    "copy": "CopyObject",
    "create_bucket": "CreateBucket",
}


def retried_operations(retries: Retries) -> Counter[str]:
    """The S3 operation of every retry s3po made."""
    return Counter(_S3_OPERATION[op.split(" ", 1)[0]] for op, _ in retries.events)


def faulted_operations(proxy: Any) -> Counter[str]:
    """The S3 operation of every request that got a fault."""
    return Counter(r.operation for r in proxy.faults())


def assert_every_fault_retried_once(proxy: Any, retries: Retries) -> None:
    """Each injected fault caused exactly one retry of that very operation, and nothing else did."""
    assert proxy.faults(), "the schedule injected no fault; pick another seed"
    retried, faulted = retried_operations(retries), faulted_operations(proxy)
    unexplained = Counter(retried)
    unexplained.subtract(faulted)
    detail = [m for op, m in retries.events if unexplained[_S3_OPERATION.get(op, op)] > 0]
    assert retried == faulted, (retried, faulted, detail[:5])
    assert len(retries) == len(proxy.faults())


def clean(proxy: Any, operation: str) -> int:
    """Requests for ``operation`` that got no fault and succeeded."""
    return sum(
        1
        for r in proxy.requests(operation)
        if r.fault is None and r.status is not None and 200 <= r.status < 300
    )
