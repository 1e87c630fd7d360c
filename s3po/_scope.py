"""Limits shared by the transfers of one batch: a byte budget and a cancel switch.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import threading

from s3po.errors import Cancelled

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


class Scope:
    """What a transfer shares with its batch.

    Attributes:
        budget: The in-flight byte budget, or None for no limit.
        cancelled: Set to stop the batch: multipart uploads abort between parts.

    .. versionadded:: 0.1.0
    """

    def __init__(self, budget: ByteBudget | None = None) -> None:
        """Share ``budget``."""
        self.budget = budget
        self.cancelled = threading.Event()

    def check(self) -> None:
        """Raise :class:`~s3po.Cancelled` if the batch was cancelled."""
        if self.cancelled.is_set():
            msg = "the batch was cancelled"
            raise Cancelled(msg)
