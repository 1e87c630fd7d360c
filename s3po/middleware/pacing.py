"""Pacing: the transfers of one batch (or Connection) back off as one when the store throttles.

S3 answers ``SlowDown`` (503) when a prefix gets more requests than it takes (about 3,500
writes or 5,500 reads a second). If each transfer retried on its own, the others would keep
sending at full rate while one waits, and the store would keep refusing. A :class:`Pacer`
is shared by every transfer of a :class:`~s3po._scope.Scope`:

- A :class:`~s3po.Throttled` error pauses **every** transfer's next request until the
  throttled one's backoff has passed (at least the ``Retry-After`` the store sent).
- Throttled retries spend from one **retry budget** (500 tokens, 5 a retry, 1 back per
  successful request, as the AWS SDKs' retry quota), so a store that keeps throttling makes
  the batch fail fast with :class:`~s3po.RetriesExhausted` instead of retrying every
  transfer's full count. Other transient errors (a reset connection, a 500) are retried per
  call as before: they are not the store asking for fewer requests.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["RETRY_BUDGET", "RETRY_COST", "Pacer"]

#: Tokens in a pacer's retry budget.
RETRY_BUDGET = 500
#: Tokens a throttled retry costs; each successful request returns one.
RETRY_COST = 5


class Pacer:
    """One pause and one retry budget for the transfers of a scope.

    Args:
        budget: Tokens in the retry budget.
        cost: Tokens a throttled retry takes.

    .. versionadded:: 0.4.0
    """

    def __init__(self, budget: int = RETRY_BUDGET, cost: int = RETRY_COST) -> None:
        """Start with a full budget and no pause."""
        self.capacity = budget
        self.cost = cost
        self._tokens = budget
        self._resume_at = float("-inf")
        self._lock = threading.Lock()
        self.pauses = 0

    def wait(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        """Sleep until the scope's pause (if any) has passed; call before each request."""
        while True:
            with self._lock:
                left = self._resume_at - clock()
            if left <= 0:
                return
            sleep(left)

    def pause(self, seconds: float, clock: Callable[[], float]) -> None:
        """Hold every transfer's next request for ``seconds`` from now (a longer pause wins)."""
        with self._lock:
            self._resume_at = max(self._resume_at, clock() + seconds)
            self.pauses += 1

    def spend(self) -> bool:
        """Take a throttled retry's cost from the budget; False when it is spent."""
        with self._lock:
            if self._tokens < self.cost:
                return False
            self._tokens -= self.cost
            return True

    def refund(self) -> None:
        """A request succeeded: return one token to the budget."""
        if self._tokens < self.capacity:
            with self._lock:
                self._tokens = min(self.capacity, self._tokens + 1)

    @property
    def tokens(self) -> int:
        """Tokens left in the budget."""
        with self._lock:
            return self._tokens
