"""What the transfers of one Connection or batch share: a budget, a switch and a pool.

A byte budget, a cancel switch, and one thread pool for the parts of multipart uploads and
the ranges of ranged downloads.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import concurrent.futures as cf
import threading

from s3po.errors import Cancelled
from s3po.middleware.pacing import Pacer

__all__ = ["ByteBudget", "Scope"]


class ByteBudget:
    """A counting semaphore measured in bytes.

    Part buffers of every multipart transfer in a batch draw from one budget, so memory is
    bounded by the budget however many large objects run at once. A request larger than the
    whole budget waits for all of it (it never deadlocks).

    .. versionadded:: 0.1.0
    """

    def __init__(self, capacity: int) -> None:
        """Allow ``capacity`` bytes in flight."""
        self.capacity = max(1, capacity)
        self._free = self.capacity
        self._cond = threading.Condition()

    def acquire(self, n: int, cancel: threading.Event | None = None) -> int:
        """Wait until ``n`` bytes (at most the capacity) are free; return what was taken."""
        take = min(n, self.capacity)
        with self._cond:
            while self._free < take:
                if cancel is not None and cancel.is_set():
                    msg = "the batch was cancelled"
                    raise Cancelled(msg)
                self._cond.wait(0.1)
            self._free -= take
        return take

    def try_acquire(self, n: int) -> int:
        """Take ``n`` bytes (at most the capacity) if they are free now; 0 if not.

        .. versionadded:: 0.4.0
        """
        take = min(n, self.capacity)
        with self._cond:
            if self._free < take:
                return 0
            self._free -= take
        return take

    def release(self, n: int) -> None:
        """Return ``n`` bytes to the budget."""
        with self._cond:
            self._free += n
            self._cond.notify_all()

    @property
    def in_use(self) -> int:
        """Bytes currently taken."""
        with self._cond:
            return self.capacity - self._free


#: The name prefix of the shared pool's threads.
POOL_PREFIX = "s3po-io"


class Scope:
    """What a transfer shares with its Connection or batch.

    The pool runs leaf tasks only (one part upload, one range download; none waits for
    another task), so transfers sharing it cannot deadlock; each transfer still keeps at
    most ``ChunkConfig.max_concurrency`` of its tasks in flight.

    Attributes:
        budget: The in-flight byte budget, or None for no limit.
        cancelled: Set to stop the batch: multipart uploads abort and ranged downloads
            stop between parts.
        workers: Transfers that may run at once (a batch's workers), so the pool is made
            large enough that none of them waits for a thread.
        pacer: The one pause and retry budget of the scope's transfers when the store
            throttles (:mod:`s3po.middleware.pacing`).

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.4.0
       ``workers``, :meth:`pool` and :meth:`close`: one pool for parts and ranges;
       ``pacer``.
    """

    def __init__(self, budget: ByteBudget | None = None, *, workers: int = 1) -> None:
        """Share ``budget`` between transfers ``workers`` of which run at once."""
        self.budget = budget
        self.cancelled = threading.Event()
        self.workers = workers
        self.pacer = Pacer()
        self._pool: cf.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def pool(self, concurrency: int) -> cf.Executor:
        """The shared pool, made on first use with ``max(concurrency, workers)`` threads.

        .. versionadded:: 0.4.0
        """
        with self._lock:
            if self._pool is None:
                self._pool = cf.ThreadPoolExecutor(
                    max(concurrency, self.workers), thread_name_prefix=POOL_PREFIX
                )
            return self._pool

    def close(self) -> None:
        """Shut the pool down (its threads end once their tasks are done).

        .. versionadded:: 0.4.0
        """
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def check(self) -> None:
        """Raise :class:`~s3po.Cancelled` if the batch was cancelled."""
        if self.cancelled.is_set():
            msg = "the batch was cancelled"
            raise Cancelled(msg)
