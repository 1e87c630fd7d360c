"""The low-speed limit's measure: bytes received against the time spent waiting for them.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

from collections import deque

__all__ = ["Speed"]


class Speed:
    """Bytes received against the time spent waiting for them, over a sliding window.

    Only the time inside the body's reads counts, so a slow consumer is never taken for a
    slow server. Samples are kept about ``window / 8`` seconds apart, so memory stays small
    however many reads there are.
    """

    __slots__ = ("busy", "limit", "samples", "total", "window")

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.busy = 0.0
        self.total = 0
        self.samples: deque[tuple[float, int]] = deque([(0.0, 0)])

    def add(self, n: int, seconds: float) -> None:
        """Record a read of ``n`` bytes that took ``seconds``."""
        self.busy += seconds
        self.total += n
        if self.busy - self.samples[-1][0] >= self.window / 8:
            self.samples.append((self.busy, self.total))
            while len(self.samples) > 1 and self.samples[1][0] <= self.busy - self.window:
                self.samples.popleft()

    def too_slow(self) -> tuple[float, float] | None:
        """The rate and the span it was measured over, if below the limit for a full window."""
        if self.limit <= 0:
            return None
        since, before = self.samples[0]
        span = self.busy - since
        if span < self.window:
            return None
        rate = (self.total - before) / span
        return (rate, span) if rate < self.limit else None
