"""Retry: repeat each backend call that fails with a transient error.

Every call gets its own attempt budget from the immutable :class:`~s3po.RetryConfig`, so a
multipart upload retries a failed part by itself. Backoff is exponential with full jitter.
A body that was cut off mid-stream is resumed from the byte it reached, with a ranged GET
pinned to the object's ETag, so nothing is repeated or skipped and two versions are never
mixed.

No body hangs forever: one that arrives slower than ``low_speed_limit`` bytes per second for
``low_speed_time`` seconds of waiting counts as cut off (and is resumed), and the
``deadline`` is checked before every read of a body, not only between attempts. Backends make
this work by returning from a body's ``read`` as soon as some bytes arrived (a short read),
rather than waiting for the full size asked for.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from s3po._types import CommonPrefix, ForwardingBackend, GetResult, UploadBody
from s3po.backend.protocol import conditioned
from s3po.errors import (
    PreconditionFailed,
    TransientError,
    UnrewindableBody,
)
from s3po.middleware._resuming import Attempts, ResumingBody
from s3po.middleware._retry_events import RetryEvent, recorded_retries

if TYPE_CHECKING:
    from s3po._types import (
        Backend,
        Headers,
        MultipartUpload,
        ObjectInfo,
        PartBody,
        PartInfo,
    )
    from s3po.backend.models import WriteCondition
    from s3po.config import RetryConfig
    from s3po.middleware.pacing import Pacer

__all__ = ["Retry", "RetryEvent", "recorded_retries"]

log = logging.getLogger("s3po.retry")

T = TypeVar("T")


class Retry(ForwardingBackend):
    """Retry every call to ``inner`` that raises :class:`~s3po.TransientError`.

    Args:
        inner: The backend below.
        config: The retry policy.
        sleep: Called with the seconds to wait; inject a fake in tests.
        clock: Monotonic clock for the deadline and the low-speed limit.
        rng: Random source for jitter; seed one for repeatable schedules.
        on_retry: Called with a :class:`RetryEvent` before each retry.
        pacer: Shared with the other transfers of a batch or Connection: a
            :class:`~s3po.Throttled` error pauses all of them, and its retries spend from one
            budget (:mod:`s3po.middleware.pacing`). None: this layer retries on its own.

    The deadline counts from when this layer is made; :class:`~s3po.Transfer` makes one for
    each call, so it bounds a whole transfer (every part and range of it).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       The deadline counts from the layer's creation and is checked during body reads.
    .. versionchanged:: 0.4.0
       ``pacer``; the wait before retrying a :class:`~s3po.Throttled` error is at least its
       ``retry_after``.
    """

    def __init__(
        self,
        inner: Backend,
        config: RetryConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        on_retry: Callable[[RetryEvent], None] | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        """Wrap ``inner`` with the policy ``config``."""
        super().__init__(inner)
        self.config = config
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self.on_retry = on_retry
        self.pacer = pacer
        self.started = clock()

    def past_deadline(self) -> bool:
        """Whether the policy's deadline has passed."""
        deadline = self.config.deadline
        return deadline is not None and self.clock() - self.started > deadline

    def _call(
        self,
        op: str,
        fn: Callable[[], T],
        bucket: str | None,
        key: str | None,
        rewind: Callable[[], None] | None = None,
        condition: WriteCondition | None = None,
    ) -> T:
        attempts = Attempts(self, op)
        retried = False
        pacer = self.pacer
        while True:
            if pacer is not None:
                pacer.wait(self.clock, self.sleep)
            try:
                result = fn()
            except TransientError as exc:
                attempts.failed(exc, bucket, key)
                retried = True
                if rewind is not None:
                    rewind()
            except PreconditionFailed as exc:
                if condition is None or not retried:
                    raise
                # An earlier attempt may have committed before its reply was lost; its
                # own write then fails the condition of the repeat.
                raise PreconditionFailed(
                    f"{exc.message}; an earlier attempt of this write failed on the way "
                    "back and may have committed it: compare the stored object (head()) "
                    "with what you wrote",
                    bucket=exc.bucket,
                    key=exc.key,
                    backend=exc.backend,
                ) from exc
            else:
                if pacer is not None:
                    pacer.refund()
                return result

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Retry the HEAD."""
        return self._call("head", lambda: self.inner.head(bucket, key), bucket, key)

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> GetResult:
        """Retry the GET, and resume its body if the stream is cut off."""
        result = self._call(
            "get",
            lambda: self.inner.get(bucket, key, start=start, end=end, if_match=if_match),
            bucket,
            key,
        )
        end_offset = result.end or result.info.size if end is None else end
        body = ResumingBody(self, bucket, key, result, end=end_offset)
        return GetResult(info=result.info, body=body, start=result.start, end=result.end)

    def put(
        self,
        bucket: str,
        key: str,
        body: UploadBody,
        *,
        headers: Headers,
        size: int | None = None,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Retry the PUT; a stream body is rewound, or UnrewindableBody is raised.

        A conditional PUT is retried like any other (S3's 409 ConditionalRequestConflict
        is a TransientError); a condition that fails on a repeat says that an earlier
        attempt may have committed.
        """
        rewind = None
        if not isinstance(body, bytes | bytearray | memoryview):
            stream: Any = body  # tell and seek are optional: checked here
            try:
                position = stream.tell() if stream.seekable() else None
            except (OSError, AttributeError, ValueError):
                position = None

            def rewind() -> None:
                if position is None:
                    raise UnrewindableBody(
                        "the upload stream cannot seek back for a retry; pass bytes, a path, "
                        "or a seekable file, or set retries=0",
                        bucket=bucket,
                        key=key,
                    )
                stream.seek(position)

        return self._call(
            "put",
            lambda: self.inner.put(
                bucket, key, body, headers=headers, size=size, **conditioned(condition)
            ),
            bucket,
            key,
            rewind,
            condition,
        )

    def delete(self, bucket: str, key: str) -> None:
        """Retry the DELETE."""
        self._call("delete", lambda: self.inner.delete(bucket, key), bucket, key)

    def list(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str | None = None,
        *,
        start_after: str | None = None,
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """List, resuming after the last entry yielded whenever a page fails.

        Each stretch of progress gets a fresh attempt budget, so a fault on page 2 is
        retried from page 2 and every entry arrives exactly once. A listing that cannot be
        finished raises :class:`~s3po.RetriesExhausted` (or the permanent error); it never
        ends early as if it were complete. The first entry is fetched at once, so a missing
        bucket or an unreachable store raises here, not at the first ``next``.
        """
        entries = self._resuming_list(bucket, prefix, delimiter, start_after)
        sentinel = object()
        first = next(entries, sentinel)
        if first is sentinel:
            return iter(())
        return _chain(first, entries)  # type: ignore[arg-type]

    def _resuming_list(
        self, bucket: str, prefix: str, delimiter: str | None, start_after: str | None
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        last = start_after
        attempts: Attempts | None = None
        while True:
            try:
                for entry in self.inner.list(bucket, prefix, delimiter, start_after=last):
                    attempts = None  # progress: the next failure starts a fresh budget
                    last = entry.prefix if isinstance(entry, CommonPrefix) else entry.key
                    yield entry
            except TransientError as exc:
                if attempts is None:
                    attempts = Attempts(self, "list")
                attempts.failed(exc, bucket, prefix or None)
                log.info("resuming the listing of s3://%s/%s after %r", bucket, prefix, last)
            else:
                return

    def create_bucket(self, bucket: str) -> None:
        """Retry bucket creation."""
        self._call("create_bucket", lambda: self.inner.create_bucket(bucket), bucket, None)

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        headers: Headers | None = None,
    ) -> ObjectInfo:
        """Retry the copy."""
        return self._call(
            "copy",
            lambda: self.inner.copy(src_bucket, src_key, bucket, key, headers=headers),
            bucket,
            key,
        )

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        """Retry CreateMultipartUpload."""
        return self._call(
            "start_multipart",
            lambda: self.inner.start_multipart(bucket, key, headers=headers),
            bucket,
            key,
        )

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: PartBody
    ) -> PartInfo:
        """Retry one part by itself."""
        return self._call(
            f"put_part {part_number}",
            lambda: self.inner.put_part(bucket, key, upload_id, part_number, data),
            bucket,
            key,
        )

    def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        *,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Retry CompleteMultipartUpload (a conditional one as :meth:`put` says)."""
        return self._call(
            "complete_multipart",
            lambda: self.inner.complete_multipart(
                bucket, key, upload_id, parts, **conditioned(condition)
            ),
            bucket,
            key,
            condition=condition,
        )

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        """Retry AbortMultipartUpload."""
        self._call(
            "abort_multipart",
            lambda: self.inner.abort_multipart(bucket, key, upload_id),
            bucket,
            key,
        )

    def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """Retry the listing of uploads (collected whole; the lists are short)."""
        return iter(
            self._call(
                "list_multipart",
                lambda: list(self.inner.list_multipart(bucket, prefix)),
                bucket,
                prefix,
            )
        )

    def list_parts(self, bucket: str, key: str, upload_id: str) -> Iterator[PartInfo]:
        """Retry the listing of an upload's parts (collected whole).

        .. versionadded:: 0.4.0
        """
        return iter(
            self._call(
                "list_parts",
                lambda: list(super(Retry, self).list_parts(bucket, key, upload_id)),
                bucket,
                key,
            )
        )


def _chain(first: T, rest: Iterator[T]) -> Iterator[T]:
    yield first
    yield from rest
