"""Handles, background work and batches of concurrent transfers.

Every call made with ``background=True`` or through a :class:`Batch` returns a
:class:`Handle`: a :class:`concurrent.futures.Future` with a ``value`` property that waits and
returns the result (or raises the transfer's error). Work is handed to any
:class:`concurrent.futures.Executor`; submission blocks when the number of unfinished
transfers reaches the limit, so a million submissions never build a million pending buffers.
User callbacks run one at a time, so they need no locking.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from s3po.client.workers import Tokens, Workers
from s3po.errors import BatchError

__all__ = ["BatchProgress", "Handle", "Runner", "failure_list"]

log = logging.getLogger("s3po.batch")

T = TypeVar("T")


#: Failures a BatchError's message lists (the group holds every one), and each reason's length.
_LISTED = 10
_REASON = 300


def failure_list(failed: Sequence[tuple[str, BaseException | None]]) -> str:
    """``name: Kind: why`` for each failed transfer, ``; ``-separated, the first few only.

    .. versionadded:: 0.4.0
    """
    parts = []
    for name, exc in failed[:_LISTED]:
        if exc is None:
            parts.append(name)
            continue
        why = " ".join(str(exc).split()) or "no message"
        if len(why) > _REASON:
            why = why[: _REASON - 1] + "…"
        parts.append(f"{name}: {type(exc).__name__}: {why}")
    more = f"; and {len(failed) - _LISTED} more" if len(failed) > _LISTED else ""
    return "; ".join(parts) + more


class Handle(cf.Future[T], Generic[T]):
    """The pending result of one transfer.

    Attributes:
        op: The call's name (``upload_file``, ...).
        bucket: The bucket.
        key: The key.

    .. versionadded:: 0.1.0
    """

    def __init__(self, op: str, bucket: str, key: str) -> None:
        """Create an unfinished handle for ``op`` on ``bucket``/``key``."""
        super().__init__()
        self.op = op
        self.bucket = bucket
        self.key = key
        self.observed = False
        #: What runs it, while it has not finished: cancel() it to give up before it starts.
        self.inner: cf.Future[T] | _Run[T] | None = None
        #: Set by a stream, which hands the handle's failure to its caller as an outcome:
        #: the batch does not keep it for its BatchError.
        self.streamed = False

    @property
    def value(self) -> T:
        """Wait for the transfer; return its result or raise its error."""
        self.observed = True
        return self.result()

    def result(self, timeout: float | None = None) -> T:
        """Wait up to ``timeout`` seconds; return the result or raise the error."""
        self.observed = True
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """Wait up to ``timeout`` seconds; return the error, or None on success."""
        self.observed = True
        return super().exception(timeout)

    def __repr__(self) -> str:
        """Show the call and its state."""
        state = "done" if self.done() else "running" if self.running() else "pending"
        return f"<Handle {self.op} s3://{self.bucket}/{self.key} {state}>"


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """The aggregate progress of a batch, given to ``on_progress`` after each transfer.

    .. versionadded:: 0.1.0
    """

    done: int
    failed: int
    submitted: int
    bytes: int
    seconds: float

    @property
    def bytes_per_second(self) -> float:
        """Average throughput so far."""
        return self.bytes / self.seconds if self.seconds > 0 else 0.0


class Runner:
    """Runs calls on an executor with back-pressure, serialised callbacks and error collection.

    Shared by :class:`~s3po.Batch` and a Connection's background work.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        executor: cf.Executor,
        *,
        max_pending: int,
        own_executor: bool,
        on_progress: Callable[[BatchProgress], None] | None = None,
    ) -> None:
        """Submit to ``executor``, with at most ``max_pending`` unfinished calls."""
        self.executor = executor
        self.own_executor = own_executor
        self.max_pending = max_pending
        self._slots = Tokens(max_pending)
        self._lock = threading.Lock()
        self._callback_lock = threading.RLock()
        self._pending: set[Handle[Any]] = set()
        # Failed handles nobody has taken yet (an ordered set); a stream takes its own.
        self._failed: dict[Handle[Any], None] = {}
        self._nfailed = 0
        self._all_done = threading.Condition(self._lock)
        self._on_progress = on_progress
        self._started = time.monotonic()
        self._submitted = 0
        self._done = 0
        self._bytes = 0
        self._closed = False

    def submit(
        self,
        handle: Handle[T],
        fn: Callable[[], T],
        callback: Callable[[T], object] | None = None,
    ) -> Handle[T]:
        """Run ``fn`` on the executor; fill ``handle``; call ``callback`` with the result."""
        if self._closed:
            msg = "this batch is closed; start a new one"
            raise RuntimeError(msg)
        self._slots.take()
        with self._lock:
            self._pending.add(handle)
            self._submitted += 1
        handle.set_running_or_notify_cancel()
        executor = self.executor
        try:
            if isinstance(executor, Workers):
                # The job fills the handle itself: no second future per transfer.
                run = _Run(self, handle, fn, callback)
                handle.inner = run
                executor.run(run)
                return handle
            future = executor.submit(fn)
        except BaseException as exc:
            handle.inner = None
            self._finish(handle, None, exc, callback)
            raise
        handle.inner = future
        future.add_done_callback(lambda f: self._settle(handle, f, callback))
        return handle

    def _settle(
        self, handle: Handle[T], future: cf.Future[T], callback: Callable[[T], object] | None
    ) -> None:
        # The executor's future and the handle point at each other (through this callback);
        # drop the handle's side so a finished result is freed as soon as the caller lets go
        # of the handle, not at the next garbage collection.
        handle.inner = None
        try:
            value = future.result()
        except BaseException as exc:  # noqa: BLE001 - handed to the handle
            self._finish(handle, None, exc, callback)
        else:
            self._finish(handle, value, None, callback)

    def _finish(
        self,
        handle: Handle[T],
        value: T | None,
        error: BaseException | None,
        callback: Callable[[T], object] | None,
    ) -> None:
        if error is None and callback is not None:
            try:
                with self._callback_lock:
                    callback(value)  # type: ignore[arg-type]
            except Exception as exc:
                log.exception(
                    "callback for %s s3://%s/%s failed", handle.op, handle.bucket, handle.key
                )
                error = exc
        if error is None:
            handle.set_result(value)  # type: ignore[arg-type]
        else:
            handle.set_exception(error)
        size = getattr(value, "size", 0) if error is None else 0
        snapshot = None
        with self._lock:
            self._pending.discard(handle)
            self._done += 1
            self._bytes += size if isinstance(size, int) else 0
            if error is not None:
                if not handle.streamed:
                    self._failed[handle] = None
                self._nfailed += 1
            snapshot = self._snapshot()
            if not self._pending:
                self._all_done.notify_all()
        self._slots.give()
        self._report(snapshot)

    def _snapshot(self) -> BatchProgress | None:
        """The counters now, if anyone listens (call with the lock held)."""
        if self._on_progress is None:
            return None
        return BatchProgress(
            self._done,
            self._nfailed,
            self._submitted,
            self._bytes,
            time.monotonic() - self._started,
        )

    def _report(self, snapshot: BatchProgress | None) -> None:
        if self._on_progress is not None and snapshot is not None:
            with self._callback_lock:
                self._on_progress(snapshot)

    def account(self, *, submitted: int = 0, done: int = 0, failed: int = 0, size: int = 0) -> None:
        """Count work that ran outside :meth:`submit` (a group of jobs on a cluster).

        .. versionadded:: 0.4.0
        """
        with self._lock:
            self._submitted += submitted
            self._done += done
            self._nfailed += failed
            self._bytes += size
            snapshot = self._snapshot() if done else None
        self._report(snapshot)

    def forget(self, handle: Handle[Any]) -> None:
        """Take a failed handle out of the failures: its caller has seen it (a stream).

        .. versionadded:: 0.4.0
        """
        with self._lock:
            self._failed.pop(handle, None)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until nothing is pending; False if ``timeout`` passed first."""
        with self._all_done:
            return self._all_done.wait_for(lambda: not self._pending, timeout)

    def cancel(self) -> None:
        """Cancel what has not started; running transfers finish or abort by themselves."""
        with self._lock:
            pending = list(self._pending)
        for handle in pending:
            if handle.inner is not None:
                handle.inner.cancel()
        if isinstance(self.executor, cf.ThreadPoolExecutor | Workers) and self.own_executor:
            self.executor.shutdown(wait=False, cancel_futures=True)

    def failures(self, *, clear: bool = False) -> list[Handle[Any]]:
        """The handles that failed (and, with ``clear``, forget them)."""
        with self._lock:
            failed = list(self._failed)
            if clear:
                self._failed.clear()
        return failed

    def raise_for_errors(self, what: str, *, clear: bool = False) -> None:
        """Raise one :class:`~s3po.BatchError` naming every failed transfer, if any."""
        failed = self.failures(clear=clear)
        if not failed:
            return
        errors: list[Exception] = []
        for h in failed:
            exc = h.exception()
            if isinstance(exc, Exception):
                errors.append(exc)
        named = [(f"{h.op} s3://{h.bucket}/{h.key}", h.exception()) for h in failed]
        raise BatchError(
            f"{len(failed)} of {self._submitted} {what} failed: {failure_list(named)}", errors
        )

    def shutdown(self) -> None:
        """Close the runner; shut down the executor if it was made for it."""
        self._closed = True
        if self.own_executor:
            self.executor.shutdown(wait=True)

    @property
    def pending(self) -> int:
        """Transfers not finished yet."""
        with self._lock:
            return len(self._pending)


class _Run(Generic[T]):
    """One call of a :class:`Runner` on :class:`~s3po.client.workers.Workers`.

    It runs once on a worker, or is cancelled before it starts; either way it finishes
    its handle (a cancelled one with :class:`concurrent.futures.CancelledError`, as a
    cancelled future reports it).
    """

    __slots__ = ("_callback", "_claim", "_fn", "_handle", "_runner")

    def __init__(
        self,
        runner: Runner,
        handle: Handle[T],
        fn: Callable[[], T],
        callback: Callable[[T], object] | None,
    ) -> None:
        self._runner, self._handle, self._fn, self._callback = runner, handle, fn, callback
        #: Taken by whichever comes first: the worker starting it, or a cancel.
        self._claim = threading.Lock()

    def __call__(self) -> None:
        if not self._claim.acquire(blocking=False):
            return  # cancelled
        handle = self._handle
        handle.inner = None
        try:
            value = self._fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the handle
            self._runner._finish(handle, None, exc, self._callback)  # noqa: SLF001 - its runner
        else:
            self._runner._finish(handle, value, None, self._callback)  # noqa: SLF001 - its runner

    def cancel(self) -> bool:
        if not self._claim.acquire(blocking=False):
            return False
        self._handle.inner = None
        self._runner._finish(self._handle, None, cf.CancelledError(), self._callback)  # noqa: SLF001
        return True
