"""Uploads a lost CreateMultipartUpload reply created: noticed below retry, aborted after.

S3 names a multipart upload only in the reply to CreateMultipartUpload; when that reply is
lost (the attempt raised a transient error) and the request is retried, the first upload
may still exist, invisible to the caller. :class:`StartWatch` sits directly over the
backend, below the retry layer, and notes every such attempt; :func:`put_watched` looks for
the uploads they left once the upload is over, and aborts them.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import logging
import time

from s3po._types import Backend, ForwardingBackend, Headers, ObjectInfo, UploadBody
from s3po.backend.models import WriteCondition
from s3po.backend.protocol import conditioned
from s3po.errors import S3poError, TransientError

__all__ = ["StartWatch", "put_watched"]

log = logging.getLogger("s3po")

#: Seconds either side of the failed CreateMultipartUpload attempts within which an upload
#: listed for the same key counts as one they created (clock skew, whole-second times).
_START_SKEW = 5.0
#: An initiation time further than this from the local clock (seconds) places nothing.
_NO_CLOCK = 86400.0


class StartWatch(ForwardingBackend):
    """Notes each CreateMultipartUpload attempt that failed transiently, and when.

    Such an attempt may have created an upload whose reply was lost (S3 names the upload
    only in that reply): :func:`put_watched` looks for those afterwards.
    """

    def __init__(self, inner: Backend) -> None:
        """Watch ``inner``."""
        super().__init__(inner)
        self.lost: list[tuple[float, float]] = []
        self.started: set[str] = set()

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        """Start an upload, noting when an attempt failed transiently."""
        began = time.time()
        try:
            upload_id = self.inner.start_multipart(bucket, key, headers=headers)
        except TransientError:
            self.lost.append((began, time.time()))
            raise
        self.started.add(upload_id)
        return upload_id


def put_watched(
    stack: Backend,
    watch: StartWatch,
    bucket: str,
    key: str,
    body: UploadBody,
    headers: Headers,
    size: int | None,
    condition: WriteCondition | None = None,
) -> ObjectInfo:
    """``stack.put``, then abort the uploads its lost CreateMultipartUpload replies made."""
    try:
        return stack.put(bucket, key, body, headers=headers, size=size, **conditioned(condition))
    finally:
        if watch.lost:
            _abort_lost(stack, watch, bucket, key)


def _abort_lost(stack: Backend, watch: StartWatch, bucket: str, key: str) -> None:
    """Abort the uploads of ``key`` that this upload's failed start attempts created.

    Candidates are the uploads still open for exactly ``key``: those this upload started
    (its own, if aborting it failed), then those initiated within :data:`_START_SKEW` of a
    failed attempt, nearest first, then those whose initiation time says nothing (missing,
    or more than a day off this machine's clock, as moto reports them), latest listed
    first; at most one of the last two kinds per failed attempt. So an upload another
    writer began for the same key is left alone as far as the server's clock can tell.
    Whatever this misses (a listing that failed, a clock off by more than the margin),
    ``Connection.cleanup`` finds.
    """
    now = time.time()

    def distance(when: float) -> float:
        return min(max(began - when, when - ended, 0.0) for began, ended in watch.lost)

    try:
        ours: list[str] = []
        near: list[tuple[float, str]] = []
        unplaced: list[str] = []
        for upload in stack.list_multipart(bucket, key):
            if upload.key != key:
                continue
            when = upload.initiated.timestamp() if upload.initiated is not None else None
            if upload.upload_id in watch.started:
                ours.append(upload.upload_id)
            elif when is None or abs(when - now) > _NO_CLOCK:
                unplaced.append(upload.upload_id)
            elif distance(when) <= _START_SKEW:
                near.append((distance(when), upload.upload_id))
        near.sort()
        lost = [u for _, u in near] + unplaced[::-1]
        for upload_id in ours + lost[: len(watch.lost)]:
            stack.abort_multipart(bucket, key, upload_id)
            log.info("aborted multipart upload %s of s3://%s/%s", upload_id, bucket, key)
    except S3poError as exc:
        log.warning(
            "could not look for multipart uploads of s3://%s/%s left by a lost "
            "CreateMultipartUpload reply (%s); Connection.cleanup() finds them",
            bucket,
            key,
            exc,
        )
