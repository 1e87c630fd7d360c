"""The per-call retry state and the body that resumes itself, of :mod:`s3po.middleware.retry`.

``Attempts`` counts one call's failures and sleeps (or gives up) between them;
``ResumingBody`` reopens a cut-off GET body at the byte it reached, pinned to the ETag.
They live here so that ``retry.py`` holds the layer itself.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from s3po._types import Body
from s3po.errors import RetriesExhausted, Throttled, TransientError
from s3po.middleware._retry_events import RetryEvent, report
from s3po.middleware._speed import Speed

if TYPE_CHECKING:
    from s3po._types import GetResult
    from s3po.middleware.retry import Retry

__all__ = ["Attempts", "ResumingBody"]

log = logging.getLogger("s3po.retry")

T = TypeVar("T")


class Attempts:
    """The mutable state of one call's retries (the deadline is the whole transfer's)."""

    __slots__ = ("clock", "config", "count", "op", "owner", "started")

    def __init__(self, owner: Retry, op: str) -> None:
        self.owner = owner
        self.config = owner.config
        self.op = op
        self.count = 0
        self.clock = owner.clock
        self.started = owner.started

    def failed(self, exc: TransientError, bucket: str | None, key: str | None) -> None:
        """Record a failure: sleep before the next attempt, or raise RetriesExhausted."""
        self.count += 1
        delay = self.config.backoff(self.count - 1, self.owner.rng)
        throttled = exc if isinstance(exc, Throttled) else None
        delay = max(delay, throttled.retry_after or 0.0) if throttled else delay
        deadline = self.config.deadline
        past_deadline = deadline is not None and self.clock() + delay - self.started > deadline
        pacer = self.owner.pacer if throttled else None
        out = past_deadline or self.count > self.config.retries
        why = "deadline passed" if past_deadline else "no retries left"
        if not out and pacer is not None and not pacer.spend():
            out, why = True, "the store keeps throttling; the retry budget is spent"
        if out:
            raise RetriesExhausted(
                f"{self.op} failed after {self.count} attempt(s) ({why}): {exc}",
                attempts=self.count,
                last_exception=exc,
                bucket=bucket,
                key=key,
                backend=exc.backend,
            ) from exc
        log.warning(
            "%s s3://%s/%s failed (%s); retry %d of %d in %.2fs",
            self.op,
            bucket,
            key or "",
            str(exc),  # not the exception: a kept record would keep its traceback alive
            self.count,
            self.config.retries,
            delay,
        )
        report(RetryEvent(self.op, self.count, delay, exc, bucket, key), self.owner.on_retry)
        if pacer is not None:
            pacer.pause(delay, self.clock)  # every transfer of the scope waits with this one
        self.owner.sleep(delay)


class ResumingBody(Body):
    """A body that reopens its stream at the current offset after a transient failure."""

    def __init__(self, owner: Retry, bucket: str, key: str, result: GetResult, *, end: int) -> None:
        super().__init__()
        self._owner = owner
        self._bucket = bucket
        self._key = key
        self._body = result.body
        self._etag = result.info.etag or None
        self._offset = result.start
        self._end = end
        self._attempts: Attempts | None = None
        self._backend = getattr(owner.inner, "name", None)
        self._speed = Speed(owner.config.low_speed_limit, owner.config.low_speed_time)

    def read(self, size: int = -1) -> bytes:
        asked = size is None or size != 0
        data = self._resuming(lambda body: body.read(size), len, asked=asked)
        self._offset += len(data)
        return data

    def copy_into(self, fd: int, offset: int, size: int) -> int:
        n = self._resuming(lambda body: body.copy_into(fd, offset, size), int, asked=size > 0)
        self._offset += n
        return n

    def _resuming(self, step: Callable[[Body], T], count: Callable[[T], int], *, asked: bool) -> T:
        """Run ``step`` on the body, reopening it at the offset reached after a cut-off.

        A body that says it ended (b"", 0) before the size the store reported was cut
        off, whatever the backend raised or did not: it is resumed like any other.
        """
        clock = self._owner.clock
        while True:
            try:
                self._check_pace()
                began = clock()
                result = step(self._body)
                got = count(result)
                self._speed.add(got, clock() - began)
                if not got and asked and self._offset < self._end:
                    self._ended_early()
            except TransientError as exc:
                if self._attempts is None:
                    self._attempts = Attempts(self._owner, "get (resume)")
                self._attempts.failed(exc, self._bucket, self._key)
                self._reopen()
            else:
                return result

    def _ended_early(self) -> None:
        """Raise the TransientError of a body that ended before its reported size."""
        raise TransientError(
            f"the body of s3://{self._bucket}/{self._key} ended at byte {self._offset} of "
            f"{self._end}; resuming it there",
            bucket=self._bucket,
            key=self._key,
            backend=self._backend,
        )

    def _check_pace(self) -> None:
        """Fail the attempt if the deadline passed or the body stalled below the low speed."""
        if self._offset >= self._end:
            return
        where = f"s3://{self._bucket}/{self._key}"
        context = {"bucket": self._bucket, "key": self._key, "backend": self._backend}
        if self._owner.past_deadline():
            raise TransientError(
                f"the body of {where} was still arriving at the deadline "
                f"({self._owner.config.deadline}s), at byte {self._offset} of {self._end}",
                **context,
            )
        slow = self._speed.too_slow()
        if slow is not None:
            rate, seconds = slow
            raise TransientError(
                f"the body of {where} arrived at {rate:.0f} bytes/s for {seconds:.1f}s, below "
                f"the low-speed limit of {self._speed.limit} bytes/s "
                f"(RetryConfig.low_speed_limit); resuming it at byte {self._offset}",
                **context,
            )

    def _reopen(self) -> None:
        self._body.close()
        self._speed = Speed(self._speed.limit, self._speed.window)
        if self._offset >= self._end:
            self._body = _Empty()
            return
        log.info(
            "resuming s3://%s/%s at byte %d (ETag %s)",
            self._bucket,
            self._key,
            self._offset,
            self._etag,
        )
        try:
            result = self._owner.inner.get(
                self._bucket, self._key, start=self._offset, end=self._end, if_match=self._etag
            )
        except TransientError:
            self._body = _Failing()
            return
        self._body = result.body

    def close(self) -> None:
        self._body.close()
        super().close()


class _Empty(Body):
    def read(self, size: int = -1) -> bytes:  # noqa: ARG002
        return b""


class _Failing(Body):
    """Stands in for a reopen that itself failed; the next read counts as another attempt."""

    def read(self, size: int = -1) -> bytes:  # noqa: ARG002
        raise TransientError("reopening the body failed")
