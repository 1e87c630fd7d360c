"""Uploads that a lost CreateMultipartUpload reply made: found by listing, then aborted.

S3 names a multipart upload only in the reply to CreateMultipartUpload. When that reply is
lost (the attempt failed with a transient error after the server acted) and the retry
layer starts again, the first upload still exists and nobody knows its id. The multipart
layer, which starts uploads, calls :func:`abort_lost` whenever its start needed more than
one attempt: the uploads of exactly that key initiated while the start was under way are
listed and aborted, at most one per failed attempt.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from s3po.errors import S3poError

if TYPE_CHECKING:
    from s3po._types import Backend

__all__ = ["LostStarts", "abort_lost"]

log = logging.getLogger("s3po.chunking")

#: Seconds either side of the start within which an upload listed for the same key counts
#: as one its failed attempts created (clock skew, whole-second times).
START_SKEW = 5.0
#: An initiation time further than this from the local clock (seconds) places nothing.
NO_CLOCK = 86400.0


@dataclass(frozen=True, slots=True, kw_only=True)
class LostStarts:
    """A start of a multipart upload that took more than one attempt.

    Attributes:
        began: Wall-clock time (``time.time()``) when the first attempt began.
        ended: Wall-clock time when the last attempt ended.
        failed: How many attempts failed transiently (each may have made an upload).
        started: The id of the upload the start returned, if it succeeded (never aborted
            here: its owner completes or aborts it).
    """

    began: float
    ended: float
    failed: int
    started: str | None = None


def abort_lost(backend: Backend, bucket: str, key: str, lost: LostStarts) -> None:
    """Abort the uploads of ``key`` that the failed attempts of ``lost`` created.

    Candidates are the uploads still open for exactly ``key``, other than the one the start
    returned: first those initiated within :data:`START_SKEW` of the start, nearest first,
    then those whose initiation time says nothing (missing, or more than a day off this
    machine's clock, as moto reports them), latest listed first; at most ``lost.failed`` in
    all. So an upload another writer began for the same key is left alone as far as the
    server's clock can tell. This never raises: whatever it misses (a listing that failed,
    a clock off by more than the margin), ``Connection.cleanup`` finds.
    """
    now = time.time()

    def distance(when: float) -> float:
        return max(lost.began - when, when - lost.ended, 0.0)

    try:
        near: list[tuple[float, str]] = []
        unplaced: list[str] = []
        for upload in backend.list_multipart(bucket, key):
            if upload.key != key or upload.upload_id == lost.started:
                continue
            when = upload.initiated.timestamp() if upload.initiated is not None else None
            if when is None or abs(when - now) > NO_CLOCK:
                unplaced.append(upload.upload_id)
            elif distance(when) <= START_SKEW:
                near.append((distance(when), upload.upload_id))
        near.sort()
        for upload_id in ([u for _, u in near] + unplaced[::-1])[: lost.failed]:
            backend.abort_multipart(bucket, key, upload_id)
            log.info(
                "aborted multipart upload %s of s3://%s/%s (its start's reply was lost)",
                upload_id,
                bucket,
                key,
            )
    except S3poError as exc:
        log.warning(
            "could not look for multipart uploads of s3://%s/%s left by a lost "
            "CreateMultipartUpload reply (%s); Connection.cleanup() finds them",
            bucket,
            key,
            exc,
        )
