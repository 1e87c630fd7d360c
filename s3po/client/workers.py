"""The threads a batch runs its transfers on, and the counter that bounds what is pending.

:class:`Workers` is a :class:`concurrent.futures.Executor`, so anything that takes an
executor takes it; a batch's :class:`~s3po.client.background.Runner` hands it jobs with
:meth:`Workers.run` instead, which fill their :class:`~s3po.Handle` themselves: no second
future per transfer, no work item, no done-callback. A batch of thousands of small
transfers pays that bookkeeping per transfer, and all of it holds the GIL.

:class:`Tokens` is a bounded counter whose take and give back are single calls into C
(a :class:`queue.SimpleQueue` of tokens), where :class:`threading.BoundedSemaphore` is a
condition variable driven from Python.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

__all__ = ["Job", "Tokens", "Workers"]

T = TypeVar("T")


class Job(Protocol):
    """A unit of work for :meth:`Workers.run`: called once on a worker, or cancelled."""

    def __call__(self) -> None:
        """Do the work; it must not raise (it reports its own outcome)."""

    def cancel(self) -> bool:
        """Give up before it starts (True), or say it has started already (False)."""


class Tokens:
    """A bounded count of free slots, taken and given back in one C call each.

    .. versionadded:: 0.4.0
    """

    __slots__ = ("_free", "limit")

    def __init__(self, limit: int) -> None:
        """``limit`` slots, all free."""
        self.limit = limit
        self._free: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(limit):
            self._free.put(None)

    def take(self) -> None:
        """Wait for a free slot and take it (Ctrl-C interrupts the wait)."""
        self._free.get()

    def give(self) -> None:
        """Give a slot back."""
        self._free.put(None)


class _Submitted:
    """A call made through :meth:`Workers.submit`: it fills its future."""

    __slots__ = ("args", "fn", "future", "kwargs")

    def __init__(
        self,
        future: cf.Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.future, self.fn, self.args, self.kwargs = future, fn, args, kwargs

    def __call__(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            value = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the future
            self.future.set_exception(exc)
        else:
            self.future.set_result(value)

    def cancel(self) -> bool:
        return self.future.cancel()


#: Pools still running; at exit each finishes what it was given, as a thread pool does.
_LIVE: weakref.WeakSet[Workers] = weakref.WeakSet()


@atexit.register
def _finish_at_exit() -> None:
    for pool in list(_LIVE):
        pool.shutdown(wait=True)


def _work(jobs: queue.SimpleQueue[Job | None]) -> None:
    while True:
        job = jobs.get()
        if job is None:
            return
        job()
        del job  # nothing of a finished job is kept while the next is awaited


class Workers(cf.Executor):
    """Up to ``max_workers`` threads taking jobs from one queue, started as work arrives.

    .. versionadded:: 0.4.0
    """

    def __init__(self, max_workers: int, *, name: str = "s3po-batch") -> None:
        """A pool of at most ``max_workers`` threads named ``name_N``."""
        if max_workers < 1:
            msg = "a pool needs at least one worker"
            raise ValueError(msg)
        self.max_workers = max_workers
        self._name = name
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        _LIVE.add(self)

    def run(self, job: Job) -> None:
        """Queue ``job``; a thread is started for it while there are fewer than the limit.

        Raises:
            RuntimeError: The pool was shut down.
        """
        with self._lock:  # a job queued after shutdown's end markers would never run
            if self._closed:
                msg = "cannot run new work after the pool was shut down"
                raise RuntimeError(msg)
            self._jobs.put(job)
            if len(self._threads) < self.max_workers:
                thread = threading.Thread(
                    target=_work,
                    args=(self._jobs,),
                    name=f"{self._name}_{len(self._threads)}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> cf.Future[T]:  # noqa: ANN401
        """Run ``fn(*args, **kwargs)`` on a worker; its future holds the outcome."""
        future: cf.Future[T] = cf.Future()
        self.run(_Submitted(future, fn, args, kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work; with ``cancel_futures``, cancel what has not started.

        The threads finish the jobs queued before (those not cancelled) and end; ``wait``
        waits for them.
        """
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        if cancel_futures:
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job.cancel()
        for _ in threads:
            self._jobs.put(None)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()
        _LIVE.discard(self)
