"""Helpers for the reliability tests (``tests/reliability/conftest.py`` imports this by path).

Test modules import it as ``s3po_reliability``, the name the conftest registers it under,
before any test module of this folder is collected.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from s3po_local import LocalBackend

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


# -- resume: a child process that blocks or stalls mid-transfer, and is SIGKILLed -----------

KIB = 1024
#: Parts on the local backend in the resume tests (it takes any part size).
LOCAL_PART = 64 * KIB

#: The child: one upload (compressed if ``compress``) or download with resume on, parts one
#: at a time. On the local backend the ``block``-th UploadPart or GET blocks until the
#: process is killed; on an S3 server (``local`` None) a fault proxy stalls it.
RESUME_CHILD = textwrap.dedent(
    """
    import json, sys, threading
    import s3po
    from s3po_local import LocalBackend

    args = json.loads(sys.argv[1])

    class Blocking(s3po.ForwardingBackend):
        calls = 0
        def _count(self):
            Blocking.calls += 1
            if Blocking.calls >= args.get("block", 4):
                threading.Event().wait()  # until killed
        def put_part(self, *a, **kw):
            self._count()
            return self.inner.put_part(*a, **kw)
        def get(self, *a, **kw):
            self._count()
            return self.inner.get(*a, **kw)

    part = args["part"]
    chunk = s3po.ChunkConfig(
        threshold=args.get("threshold", part), part_size=part, max_concurrency=1
    )
    config = s3po.TransferConfig(chunk=chunk, resume=True)
    if args["local"]:
        backend = Blocking(LocalBackend(args["local"], min_part_size=part, fsync=False))
        conn = s3po.Connection(backend, config=config)
    else:
        conn = s3po.Connection("s3", config=config, **args["options"])
    bucket, key = args.get("bucket", "bucket"), args.get("key", "k")
    with conn:
        if args["op"] == "upload":
            conn.upload_file(bucket, key, args["path"], compress=args.get("compress"))
        else:
            conn.download_file(bucket, key, args["path"])
    """
)


def start_child(tmp_path: Path, args: dict[str, Any]) -> subprocess.Popen[bytes]:
    """Start :data:`RESUME_CHILD` with ``args``, its cache (journals) in ``tmp_path/cache``."""
    script = tmp_path / "child.py"
    script.write_text(RESUME_CHILD)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.Popen(
        [sys.executable, str(script), json.dumps(args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def wait_until(proc: subprocess.Popen[bytes], ready: Callable[[], bool]) -> None:
    """Poll ``ready`` until it holds; fail if the child ends first or 20 s pass."""
    deadline = time.monotonic() + 20
    while not ready():
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"the child ended early: {err}")
        if time.monotonic() > deadline:
            pytest.fail("the child never got far enough")
        time.sleep(0.02)


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child (if it still runs) and reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    if proc.stderr is not None:
        proc.stderr.close()


def run_and_kill(tmp_path: Path, args: dict[str, Any], ready: Callable[[], bool]) -> None:
    """Run the child until ``ready()``, then SIGKILL it."""
    proc = start_child(tmp_path, args)
    try:
        wait_until(proc, ready)
    finally:
        kill(proc)
    assert proc.returncode == -signal.SIGKILL


def journals(cache: Path) -> Path:
    """The folder of resume journals under the cache root ``cache``."""
    return cache / "s3po" / "resume"


def journal_lines(cache: Path) -> int:
    """Lines of the one journal under the cache root ``cache`` (0 if there is none)."""
    files = list(journals(cache).glob("*.jsonl")) if journals(cache).is_dir() else []
    return len(files[0].read_text().splitlines()) if files else 0


def left(cache: Path) -> list[Path]:
    """Whatever resume left under the cache root ``cache``: journals, lock files."""
    return list(journals(cache).iterdir()) if journals(cache).is_dir() else []


class Counting(s3po.ForwardingBackend):
    """Records the parts and GETs the store is asked for, below the stack."""

    def __init__(self, inner: s3po.Backend) -> None:
        """Forward to ``inner``."""
        super().__init__(inner)
        self.parts: list[int] = []
        #: ``(start, end, if_match)`` of each GET.
        self.gets: list[tuple[int, int | None, str | None]] = []

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: s3po.PartBody
    ) -> s3po.PartInfo:
        """Record the part number."""
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
        """Record the range and the pin."""
        self.gets.append((start, end, if_match))
        return self.inner.get(bucket, key, start=start, end=end, if_match=if_match)


@contextlib.contextmanager
def resumable_local(
    root: Path, retry: s3po.RetryConfig | None = None
) -> Iterator[tuple[LocalBackend, Counting, s3po.Connection]]:
    """A local store at ``root`` with a bucket, and a resuming Connection counting below it."""
    store = LocalBackend(root, min_part_size=LOCAL_PART, fsync=False)
    store.create_bucket("bucket")
    counting = Counting(store)
    chunk = s3po.ChunkConfig(threshold=LOCAL_PART, part_size=LOCAL_PART, max_concurrency=1)
    config = s3po.TransferConfig(chunk=chunk, resume=True, retry=retry or s3po.RetryConfig())
    with s3po.Connection(counting, config=config) as conn:
        yield store, counting, conn
