"""Multipart uploads: one PUT up to the threshold, parts sent concurrently above it.

Uploads no larger than the threshold go up in one PUT. Larger ones, and streams of unknown
length that pass it, are cut into parts read one after another from the source and uploaded
concurrently; at most ``max_concurrency`` part buffers exist at once, so memory stays about
``part_size * (max_concurrency + 1)``. A :class:`~s3po.backend.sources.FileSource` (a plain
file of known size) is not buffered at all: its parts go to the backend as
:class:`~s3po.FileWindow` objects read as they are sent. Any other source (an encoded one
included) is read and buffered.

Any failure, including KeyboardInterrupt and an error raised by the caller's stream, aborts
the multipart upload before it propagates, so no orphaned parts are left behind. This layer
starts the uploads, so it also aborts those a lost CreateMultipartUpload reply made: when
the start needed more than one attempt (:func:`~s3po.middleware.retry.recorded_retries`
tells), the uploads of the key initiated meanwhile are listed and aborted
(:mod:`s3po.middleware._lost_starts`). A start that succeeds at once costs nothing more.

A source with a resume journal (``upload_file(..., resume=True)``,
:class:`~s3po.resume.UploadJournal`) changes two things, and only those: the upload the
journal names is continued if the store still lists it and nothing about the file or the
plan changed, each part the store holds (ListParts) is checked against the part planned
(size and MD5) and not sent again; and an interruption (Ctrl-C, cancellation, a network
that failed for good, see :func:`~s3po.resume.keeps_state`) keeps the upload and its
journal instead of aborting them.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from s3po._types import PartBody, PartInfo, Readable, UploadBody
from s3po.backend.protocol import conditioned
from s3po.backend.sources import BytesSource, FileSource, UploadSource
from s3po.errors import ConfigError, NotSupported, RetriesExhausted
from s3po.middleware._chunked import ChunkedLayer, part_size_for
from s3po.middleware._lost_starts import LostStarts, abort_lost
from s3po.middleware.retry import recorded_retries
from s3po.resume import find_upload, headers_digest, keeps_state, part_crc_matches, part_md5

if TYPE_CHECKING:
    from s3po._types import Headers, ObjectInfo
    from s3po.backend.models import WriteCondition
    from s3po.resume import Resumable, UploadJournal

__all__ = ["Multipart"]

log = logging.getLogger("s3po.chunking")


def _read_exact(stream: Readable, n: int) -> bytes:
    """Read ``n`` bytes, fewer only at the end of the stream."""
    chunks = []
    remaining = n
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class Multipart(ChunkedLayer):
    """Split large uploads into parts.

    .. versionadded:: 0.4.0
    """

    def put(  # noqa: PLR0911 - one return per kind of body
        self,
        bucket: str,
        key: str,
        body: UploadBody,
        *,
        headers: Headers,
        size: int | None = None,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Upload in one PUT up to the threshold, as multipart above it.

        ``condition`` goes with the PUT, or with CompleteMultipartUpload (the upload is
        aborted when it fails); one the backend does not honour for the request it would
        need is refused with NotSupported before anything is sent.
        """
        threshold = self.config.threshold
        cond = condition

        def put(data: UploadBody, size: int | None) -> ObjectInfo:
            self._supports("put", cond, bucket, key)
            return self.inner.put(
                bucket, key, data, headers=headers, size=size, **conditioned(cond)
            )

        if isinstance(body, bytes | bytearray | memoryview):
            view = memoryview(body)
            if len(view) <= threshold:
                return put(bytes(view), len(view))
            return self._multipart(bucket, key, _ViewReader(view), headers, len(view), b"", cond)
        if isinstance(body, BytesSource):
            if len(body.data) <= threshold:
                info = put(body.data, len(body.data))
                body.sent(len(body.data))
                return info
            return self._multipart(bucket, key, body, headers, len(body.data), b"", cond)
        if isinstance(body, FileSource) and body.windowable():
            return self._put_file(bucket, key, body, headers, cond)
        if size is not None and size <= threshold:
            data = _read_exact(body, size + 1)
        else:
            data = _read_exact(body, threshold + 1)
        if len(data) <= threshold:
            return put(data, len(data))
        return self._multipart(bucket, key, body, headers, size, data, cond)

    def _supports(
        self, request: str, condition: WriteCondition | None, bucket: str, key: str
    ) -> None:
        """Refuse ``condition`` if the backend does not honour it on ``request``."""
        if condition is not None and not self.capabilities.supports(request, condition):
            what = "a PUT" if request == "put" else "a CompleteMultipartUpload"
            raise NotSupported(
                f"the {self.name} backend cannot make {what} conditional on "
                f"{condition.describe()} (it does not declare it), so s3://{bucket}/{key} was "
                "not written; write without the condition, or use a backend that supports "
                "it (docs/s3-compatible.md)"
            )

    def _put_file(
        self,
        bucket: str,
        key: str,
        source: FileSource,
        headers: Headers,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """A regular file: one window up to the threshold, windows as parts above it."""
        size = source.planned
        if size > self.config.threshold:
            info = self._run_multipart(
                bucket,
                key,
                headers,
                lambda _parts: self._windows(source, size),
                before_commit=source.check_unchanged,
                condition=condition,
                resume=source.resume,
                size=size,
            )
        else:
            # One window over the whole file: the backend reads it as it sends (or copies it
            # in the kernel), and nothing is held in memory here.
            self._supports("put", condition, bucket, key)
            window = source.window(0, size)
            info = self.inner.put(
                bucket, key, window, headers=headers, size=size, **conditioned(condition)
            )
            source.sent(size)
        source.finish()
        return info

    def _multipart(
        self,
        bucket: str,
        key: str,
        stream: Readable,
        headers: Headers,
        size: int | None,
        head: bytes,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """A multipart upload of a stream: parts are read, buffered and sent."""
        return self._run_multipart(
            bucket,
            key,
            headers,
            lambda parts: self._cut(stream, size, head, parts),
            condition=condition,
            resume=stream.resume if isinstance(stream, UploadSource) else None,
            size=size,
        )

    def _start(
        self,
        bucket: str,
        key: str,
        headers: Headers,
        resume: UploadJournal | None,
        size: int | None,
    ) -> _Parts:
        """The parts of a new upload, or of the journaled one the store still holds."""
        if resume is not None:
            part_size = part_size_for(self.config, self.capabilities, size, 1)
            found = find_upload(self.inner, bucket, key, headers, resume, part_size)
            if found is not None:
                return _Parts(self, bucket, key, found.upload_id, resume=resume, found=found)
        upload_id = self._create(bucket, key, headers)
        log.debug("multipart upload %s of s3://%s/%s started", upload_id, bucket, key)
        if resume is not None:
            resume.begin(upload_id, part_size, headers_digest(headers))
        return _Parts(self, bucket, key, upload_id, resume=resume)

    def _run_multipart(
        self,
        bucket: str,
        key: str,
        headers: Headers,
        plan: Callable[[_Parts], Iterator[tuple[int, PartBody]]],
        before_commit: Callable[[], None] | None = None,
        condition: WriteCondition | None = None,
        resume: UploadJournal | None = None,
        size: int | None = None,
    ) -> ObjectInfo:
        """Start an upload, send the planned parts, complete it, or abort it on any failure.

        ``before_commit`` runs once every part is stored, before the upload is completed
        (a file upload checks there that the file is unchanged); if it raises, the upload
        is aborted. ``condition`` goes with CompleteMultipartUpload; a failed one aborts
        the upload too, so nothing is left behind. With ``resume`` (a journal), an earlier
        upload is continued when it can be, and an interruption keeps the upload instead
        of aborting it.
        """
        self._supports("complete", condition, bucket, key)
        if resume is None:
            return self._run_parts(bucket, key, headers, plan, before_commit, condition, None, size)
        # One process at a time continues a journaled upload (TransferInProgress if not).
        with resume.lock():
            return self._run_parts(
                bucket, key, headers, plan, before_commit, condition, resume, size
            )

    def _run_parts(
        self,
        bucket: str,
        key: str,
        headers: Headers,
        plan: Callable[[_Parts], Iterator[tuple[int, PartBody]]],
        before_commit: Callable[[], None] | None,
        condition: WriteCondition | None,
        resume: UploadJournal | None,
        size: int | None,
    ) -> ObjectInfo:
        """The body of :meth:`_run_multipart`, with the journal (if any) locked."""
        parts = self._start(bucket, key, headers, resume, size)
        upload_id = parts.upload_id
        try:
            for number, data in plan(parts):
                if not parts.send(number, data):
                    break
            results = parts.results()
            # A batch cancelled while the last parts were in flight does not commit: the
            # upload is aborted, or kept for resume, as when a part is left to send.
            self.check()
            if before_commit is not None:
                before_commit()
            info = self.inner.complete_multipart(
                bucket, key, upload_id, results, **conditioned(condition)
            )
        except BaseException as exc:
            parts.cancel()
            if resume is not None and keeps_state(exc):
                _kept(resume, parts, exc, bucket, key)
                raise
            if resume is not None:
                resume.finish()
            log.warning(
                "aborting multipart upload of s3://%s/%s after %s", bucket, key, type(exc).__name__
            )
            try:
                self.inner.abort_multipart(bucket, key, upload_id)
            except Exception:
                log.exception("could not abort upload %s of s3://%s/%s", upload_id, bucket, key)
            raise
        finally:
            parts.close()
        if resume is not None:
            resume.finish()
            log.info(
                "multipart upload of s3://%s/%s complete: %d parts sent, %d already stored",
                bucket,
                key,
                parts.count - parts.skipped,
                parts.skipped,
            )
        log.debug("multipart upload of s3://%s/%s complete: %d parts", bucket, key, parts.count)
        return info

    def _create(self, bucket: str, key: str, headers: Headers) -> str:
        """CreateMultipartUpload; if an attempt failed, abort the upload its lost reply made.

        Only uploads initiated while this start was under way are aborted, so an upload
        a resume journal names (started by an earlier run) is never one of them.
        """
        began = time.time()
        try:
            with recorded_retries() as retries:
                upload_id = self.inner.start_multipart(bucket, key, headers=headers)
        except BaseException as exc:
            # Out of retries, every attempt failed, and each may have made an upload.
            failed = exc.attempts if isinstance(exc, RetriesExhausted) else len(retries)
            if failed:
                lost = LostStarts(began=began, ended=time.time(), failed=failed)
                abort_lost(self.inner, bucket, key, lost)
            raise
        if retries:
            lost = LostStarts(
                began=began, ended=time.time(), failed=len(retries), started=upload_id
            )
            abort_lost(self.inner, bucket, key, lost)
        return upload_id

    def _windows(self, source: FileSource, size: int) -> Iterator[tuple[int, PartBody]]:
        """Yield numbered windows of the file, counting each as sent."""
        offset, number = 0, 1
        while offset < size:
            want = min(part_size_for(self.config, self.capabilities, size, number), size - offset)
            self.check()
            yield number, source.window(offset, want)
            source.sent(want)
            offset += want
            number += 1

    def _cut(
        self, stream: Readable, size: int | None, head: bytes, parts: _Parts
    ) -> Iterator[tuple[int, PartBody]]:
        """Yield numbered parts read from ``head`` then ``stream``, sized by the plan."""
        caps = self.capabilities
        pending = memoryview(head)
        number = 1
        while True:
            want = part_size_for(self.config, caps, size, number)
            parts.reserve(want)
            data: bytes | memoryview
            if len(pending) < want:
                data = bytes(pending) + _read_exact(stream, want - len(pending))
                pending = memoryview(b"")
            else:
                data, pending = pending[:want], pending[want:]
            if not data and number > 1:
                return
            if number > caps.max_parts:
                msg = f"the stream needs more than {caps.max_parts} parts"
                raise ConfigError(msg + "; pass size= or raise part_size")
            yield number, data
            if len(data) < want and not pending:
                return
            number += 1


class _Parts:
    """Uploads parts concurrently with at most ``max_concurrency`` buffers alive."""

    def __init__(
        self,
        owner: Multipart,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        resume: UploadJournal | None = None,
        found: Resumable | None = None,
    ) -> None:
        self._owner = owner
        self.upload_id = upload_id
        self._resume = resume
        self._stored = found.stored if found is not None else {}
        self._known = found.known if found is not None else {}
        self.skipped = 0
        self.stored = 0
        self._bucket = bucket
        self._key = key
        self._upload_id = upload_id
        self._pool, self._own_pool = owner.pool("s3po-part")
        self._slots = threading.Semaphore(owner.config.max_concurrency)
        self._failed = threading.Event()
        self._futures: list[cf.Future[PartInfo]] = []
        self._scope = owner.scope
        self._budget = owner.scope.budget if owner.scope is not None else None
        # Bytes taken from the budget for the part being read, not yet handed to send().
        self._reserved = 0
        self._lock = threading.Lock()

    def reserve(self, n: int) -> None:
        """Take ``n`` bytes from the batch's budget before a part is read into memory.

        Only buffered parts call this; file windows hold no memory and take nothing.
        """
        if self._scope is not None:
            self._scope.check()
            if self._budget is not None:
                self._reserved = self._budget.acquire(n, self._scope.cancelled)

    def _give_back(self, n: int) -> None:
        if n and self._budget is not None:
            self._budget.release(n)

    @property
    def count(self) -> int:
        return len(self._futures)

    def _upload(self, number: int, data: PartBody, reserved: int) -> PartInfo:
        try:
            self._owner.check()
            if self._resume is None:
                return self._owner.inner.put_part(
                    self._bucket, self._key, self._upload_id, number, data
                )
            return self._resumable(number, data, self._resume)
        except BaseException:
            self._failed.set()
            raise
        finally:
            self._slots.release()
            self._give_back(reserved)

    def _resumable(self, number: int, data: PartBody, journal: UploadJournal) -> PartInfo:
        """Keep the stored part ``number`` if it is the one planned; else send and journal it."""
        md5 = part_md5(data)
        size = len(data)
        have = self._stored.get(number)
        if have is not None and have.size == size:
            etag = have.etag.strip('"')
            noted = self._known.get(number)
            # Some stores' ListParts omit the part's checksum, which completing repeats.
            known = noted if noted is not None and noted.etag == etag else None
            checksum = have.checksum or (known.checksum if known is not None else None)
            algorithm = have.checksum_algorithm or (
                known.checksum_algorithm if known is not None else None
            )
            same = etag == md5 or (known is not None and known.md5 == md5)
            if checksum is not None and algorithm is not None:
                # the stored part's wire checksum against the planned bytes' (same algorithm)
                same = same and part_crc_matches(data, checksum, algorithm)
            if same:
                with self._lock:
                    self.skipped += 1
                    self.stored += 1
                return PartInfo(number, have.etag, size, checksum, algorithm)
        if have is not None:
            log.info(
                "part %d of s3://%s/%s differs from the stored one; sending it again",
                number,
                self._bucket,
                self._key,
            )
        info = self._owner.inner.put_part(self._bucket, self._key, self._upload_id, number, data)
        journal.part(
            number, size, info.etag.strip('"'), md5, info.checksum, info.checksum_algorithm
        )
        with self._lock:
            self.stored += 1
        return info

    def send(self, number: int, data: PartBody) -> bool:
        """Queue a part once a buffer slot frees up; False if a part already failed."""
        reserved, self._reserved = self._reserved, 0
        self._slots.acquire()
        if self._failed.is_set():
            self._slots.release()
            self._give_back(reserved)
            return False
        self._futures.append(self._pool.submit(self._upload, number, data, reserved))
        return True

    def results(self) -> list[PartInfo]:
        """Wait for every part; raise the first failure."""
        return [f.result() for f in self._futures]

    def cancel(self) -> None:
        """Cancel parts not started and wait for the running ones."""
        for f in self._futures:
            f.cancel()
        cf.wait(self._futures)

    def close(self) -> None:
        self._give_back(self._reserved)
        self._reserved = 0
        if self._own_pool:
            self._pool.shutdown(wait=False)


def _kept(resume: UploadJournal, parts: _Parts, exc: BaseException, bucket: str, key: str) -> None:
    """Keep an interrupted upload and its journal for the next run."""
    resume.keep()
    log.warning(
        "kept multipart upload %s of s3://%s/%s after %s (%d parts stored); upload the "
        "same file again with resume on to continue it, or run s3po cleanup to discard it",
        parts.upload_id,
        bucket,
        key,
        type(exc).__name__,
        parts.stored,
    )


class _ViewReader:
    """Reads a memoryview as a stream, without copying until a part is cut."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._view) if n < 0 else min(len(self._view), self._pos + n)
        data = bytes(self._view[self._pos : end])
        self._pos = end
        return data
