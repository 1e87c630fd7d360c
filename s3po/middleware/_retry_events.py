"""What the retry layer reports of each retry: a frozen :class:`RetryEvent`, to two readers.

The user's ``on_retry`` callback (given to :class:`~s3po.Transfer` or
:class:`~s3po.middleware.Retry`) receives each event before the retry's delay. A layer
above the retry layer that must know whether its own call was retried opens
:func:`recorded_retries` around it: the multipart layer does, around
CreateMultipartUpload, because a retried start may have left an upload behind whose reply
was lost. Both see the same immutable event, so adding a field never breaks either.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from s3po.errors import TransientError

__all__ = ["RetryEvent", "recorded_retries", "report"]


@dataclass(frozen=True, slots=True, repr=False)
class RetryEvent:
    """One retry, as the ``on_retry`` callback receives it before the retry's delay.

    Attributes:
        operation: The call retried (``"put"``, ``"put_part 3"``, ``"start_multipart"``).
        attempt: The number of this retry (1 for the first retry, the second attempt).
        delay: Seconds the retry layer waits before the attempt.
        error: The transient error that failed the previous attempt.
        bucket: The bucket the call addressed, if any.
        key: The key (or listing prefix) the call addressed, if any.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.4.0
       Frozen, with ``bucket`` and ``key``.
    """

    operation: str
    attempt: int
    delay: float
    error: TransientError
    bucket: str | None = None
    key: str | None = None

    def __repr__(self) -> str:
        """Show the retry (not the error, whose traceback holds the call's frames)."""
        return f"RetryEvent({self.operation!r}, attempt={self.attempt}, delay={self.delay:.3f})"


#: The retries of the calls made in this context, if a layer above asked to see them.
_RECORDED: contextvars.ContextVar[list[RetryEvent] | None] = contextvars.ContextVar(
    "s3po_recorded_retries", default=None
)


@contextlib.contextmanager
def recorded_retries() -> Iterator[list[RetryEvent]]:
    """Collect the :class:`RetryEvent` of every retry made inside, in this context.

    A layer above the retry layer learns this way whether a call of its own succeeded at
    the first attempt. The events are those of calls made on this thread (a
    :mod:`contextvars` context), not of work handed to a pool; recordings nest, and each
    sees only the retries made while it is open (an outer one receives the inner's when it
    closes).

    .. versionadded:: 0.4.0
    """
    events: list[RetryEvent] = []
    outer = _RECORDED.get()
    token = _RECORDED.set(events)
    try:
        yield events
    finally:
        _RECORDED.reset(token)
        if outer is not None:
            outer.extend(events)


def report(event: RetryEvent, on_retry: Callable[[RetryEvent], None] | None) -> None:
    """Hand ``event`` to the open recording, if any, then to ``on_retry``, if any."""
    recording = _RECORDED.get()
    if recording is not None:
        recording.append(event)
    if on_retry is not None:
        on_retry(event)
