"""``--bwlimit``: one byte rate for the whole process, shared by every transfer.

A :class:`TokenBucket` is charged wherever the transfer layer reports bytes moved: as they
are read for an upload and as they are written for a download (the ``progress=`` callbacks
of :class:`~s3po.backend.sources.UploadSource` and :class:`~s3po.backend.sinks.DownloadSink`).
The thread that moved the bytes then sleeps until the rate allows them, so however many
transfers run at once, their sum stays at the limit, averaged over a second. Server-side
copies move no bytes through this machine and are not limited.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import TYPE_CHECKING

from s3po.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["TokenBucket", "parse_rate"]


def parse_rate(text: str) -> int:
    """A ``--bwlimit`` value: bytes per second, such as ``10M``, ``512KiB`` or ``1000000``."""
    from s3po.config import parse_size  # noqa: PLC0415 - the configs are not for --help

    try:
        value = parse_size(text.removesuffix("/s"))
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate: {exc}") from None
    if value < 1:
        msg = f"{text!r} is not a rate; write bytes per second, such as 10M or 512KiB"
        raise argparse.ArgumentTypeError(msg)
    return value


class TokenBucket:
    """A byte budget refilled at ``rate`` per second, holding at most one second of it.

    :meth:`take` never refuses: it charges the bytes (the budget may go below zero) and
    sleeps until the budget is back at zero, so the callers' combined rate is ``rate``.

    Args:
        rate: Bytes per second.
        clock: Seconds, monotonic (default :func:`time.monotonic`).
        sleep: Sleeps that long (default :func:`time.sleep`).
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """Start with a full second of budget."""
        if rate <= 0:
            raise ConfigError(f"a byte rate must be positive, not {rate}")
        self.rate = float(rate)
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._lock = threading.Lock()
        self._level = self.rate
        self._stamp = self._clock()

    def take(self, n: int) -> None:
        """Charge ``n`` bytes, then wait until the rate allows them."""
        if n <= 0:
            return
        with self._lock:
            now = self._clock()
            self._level = min(self.rate, self._level + (now - self._stamp) * self.rate) - n
            self._stamp = now
            wait = -self._level / self.rate if self._level < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
