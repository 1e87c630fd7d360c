"""Chunking: multipart uploads and parallel ranged downloads for large objects.

Uploads no larger than the threshold go up in one PUT. Larger ones, and streams of unknown
length that pass it, are cut into parts read one after another from the source and uploaded
concurrently; at most ``max_concurrency`` part buffers exist at once, so memory stays about
``part_size * (max_concurrency + 1)``. A plain file of known size is not buffered at all: its
parts go to the backend as :class:`~s3po.FileWindow` objects read as they are sent.

Any failure, including KeyboardInterrupt and an error raised by the caller's stream, aborts
the multipart upload before it propagates, so no orphaned parts are left behind.

Downloads larger than the threshold are fetched as ranged GETs in parallel, pinned to the
ETag of the first response, and handed out in order; a download into a file skips the
ordering and streams each range straight to its offset (``drain_to``).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import logging
import math
import os
import stat
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from s3po._types import (
    Body,
    FileIdentity,
    FileWindow,
    ForwardingBackend,
    GetResult,
    PartBody,
    Readable,
    UploadBody,
)
from s3po.errors import ConfigError, TransientError

if TYPE_CHECKING:
    from s3po._scope import Scope
    from s3po._types import Backend, Capabilities, Headers, ObjectInfo, PartInfo
    from s3po.config import ChunkConfig
    from s3po.integrity import Checksum

__all__ = ["Chunking", "part_size_for"]

log = logging.getLogger("s3po.chunking")

#: With an unknown total size, the part size doubles after every this many parts.
_GROWTH_STEP = 2000
#: Bytes moved per write when ranges stream straight into a file.
_DRAIN_CHUNK = 1024 * 1024


def part_size_for(
    config: ChunkConfig, caps: Capabilities, size: int | None = None, part_number: int = 1
) -> int:
    """The size of part ``part_number`` of an upload of ``size`` bytes (None: unknown).

    The configured part size is raised to the backend's minimum. With a known size, it is
    grown so the upload fits in ``caps.max_parts``; with an unknown size, it doubles every
    2,000 parts, so a stream of up to several hundred GB fits in 10,000 parts.

    Raises:
        ConfigError: The object cannot fit in the backend's limits.

    .. versionadded:: 0.1.0
    """
    # A configured part size above the backend's maximum is clamped to it, so the error
    # below is raised only for objects that truly cannot fit.
    part = min(max(config.part_size, caps.min_part_size), caps.max_part_size)
    if size is not None:
        part = max(part, math.ceil(size / caps.max_parts))
        if part > caps.max_part_size:
            raise ConfigError(
                f"{size} bytes do not fit in {caps.max_parts} parts of at most "
                f"{caps.max_part_size} bytes"
            )
        return part
    return min(part << ((part_number - 1) // _GROWTH_STEP), caps.max_part_size)


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


class Chunking(ForwardingBackend):
    """Split large uploads into parts and large downloads into ranges.

    Args:
        inner: The backend below (normally the retry layer).
        config: Threshold, part size and concurrency.
        executor: Run part requests here instead of a pool made per transfer.
        scope: The batch's byte budget and cancel switch, if any.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        inner: Backend,
        config: ChunkConfig,
        *,
        executor: cf.Executor | None = None,
        scope: Scope | None = None,
    ) -> None:
        """Wrap ``inner`` with ``config``; ``scope`` shares a batch's byte budget."""
        super().__init__(inner)
        self.config = config
        self.executor = executor
        self.scope = scope

    # -- upload ---------------------------------------------------------------------------

    def put(
        self,
        bucket: str,
        key: str,
        body: UploadBody,
        *,
        headers: Headers,
        size: int | None = None,
    ) -> ObjectInfo:
        """Upload in one PUT up to the threshold, as multipart above it."""
        threshold = self.config.threshold
        if isinstance(body, bytes | bytearray | memoryview):
            view = memoryview(body)
            if len(view) <= threshold:
                return self.inner.put(bucket, key, bytes(view), headers=headers, size=len(view))
            return self._multipart(bucket, key, _ViewReader(view), headers, len(view), b"")
        windows = _file_windows(body, size) if size is not None else None
        if windows is not None and size is not None:
            if size > threshold:
                return self._multipart_windows(bucket, key, windows, headers, size)
            # One window over the whole file: the backend reads it as it sends (or copies it
            # in the kernel), and nothing is held in memory here.
            window = FileWindow(
                windows.fd,
                windows.start,
                size,
                identity=windows.identity,
                path=windows.path,
                content=windows.content,
            )
            info = self.inner.put(bucket, key, window, headers=headers, size=size)
            windows.advance(size)
            windows.finish(size)
            return info
        if size is not None and size <= threshold:
            data = _read_exact(body, size + 1)
        else:
            data = _read_exact(body, threshold + 1)
        if len(data) <= threshold:
            return self.inner.put(bucket, key, data, headers=headers, size=len(data))
        return self._multipart(bucket, key, body, headers, size, data)

    # -- download -------------------------------------------------------------------------

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> GetResult:
        """Fetch large whole objects as parallel ranged GETs, handed out in order."""
        result = self.inner.get(bucket, key, start=start, end=end, if_match=if_match)
        if start != 0 or end is not None or result.info.size <= self.config.threshold:
            return result
        body = _RangesBody(self, bucket, key, result)
        return GetResult(info=result.info, body=body, start=0, end=result.info.size)

    def _multipart(
        self,
        bucket: str,
        key: str,
        stream: Readable,
        headers: Headers,
        size: int | None,
        head: bytes,
    ) -> ObjectInfo:
        """A multipart upload of a stream: parts are read, buffered and sent."""
        return self._run_multipart(
            bucket, key, headers, lambda parts: self._cut(stream, size, head, parts)
        )

    def _multipart_windows(
        self, bucket: str, key: str, source: _WindowSource, headers: Headers, size: int
    ) -> ObjectInfo:
        """A multipart upload of a regular file: parts are windows read as they are sent."""
        info = self._run_multipart(
            bucket,
            key,
            headers,
            lambda _parts: self._windows(source, size),
            before_commit=source.check_unchanged,
        )
        source.finish(size)
        return info

    def _run_multipart(
        self,
        bucket: str,
        key: str,
        headers: Headers,
        plan: Callable[[_Parts], Iterator[tuple[int, PartBody]]],
        before_commit: Callable[[], None] | None = None,
    ) -> ObjectInfo:
        """Start an upload, send the planned parts, complete it, or abort it on any failure.

        ``before_commit`` runs once every part is stored, before the upload is completed
        (a file upload checks there that the file is unchanged); if it raises, the upload
        is aborted.
        """
        upload_id = self.inner.start_multipart(bucket, key, headers=headers)
        log.debug("multipart upload %s of s3://%s/%s started", upload_id, bucket, key)
        parts = _Parts(self, bucket, key, upload_id)
        try:
            for number, data in plan(parts):
                if not parts.send(number, data):
                    break
            results = parts.results()
            if before_commit is not None:
                before_commit()
            info = self.inner.complete_multipart(bucket, key, upload_id, results)
        except BaseException as exc:
            parts.cancel()
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
        log.debug("multipart upload of s3://%s/%s complete: %d parts", bucket, key, parts.count)
        return info

    def _windows(self, source: _WindowSource, size: int) -> Iterator[tuple[int, PartBody]]:
        """Yield numbered windows of the file, counting each as read."""
        offset, number = 0, 1
        while offset < size:
            want = min(part_size_for(self.config, self.capabilities, size, number), size - offset)
            if self.scope is not None:
                self.scope.check()
            yield number, source.window(offset, want)
            source.advance(want)
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

    def __init__(self, owner: Chunking, bucket: str, key: str, upload_id: str) -> None:
        self._owner = owner
        self._bucket = bucket
        self._key = key
        self._upload_id = upload_id
        concurrency = owner.config.max_concurrency
        self._own_pool = owner.executor is None
        self._pool = owner.executor or cf.ThreadPoolExecutor(
            concurrency, thread_name_prefix="s3po-part"
        )
        self._slots = threading.Semaphore(concurrency)
        self._failed = threading.Event()
        self._futures: list[cf.Future[PartInfo]] = []
        self._scope = owner.scope
        self._budget = owner.scope.budget if owner.scope is not None else None
        # Bytes taken from the budget for the part being read, not yet handed to send().
        self._reserved = 0

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
            if self._scope is not None:
                self._scope.check()
            return self._owner.inner.put_part(
                self._bucket, self._key, self._upload_id, number, data
            )
        except BaseException:
            self._failed.set()
            raise
        finally:
            self._slots.release()
            self._give_back(reserved)

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


class _WindowSource:
    """A regular file behind the upload stream: parts are cut as windows of it.

    ``identity`` is the file as it was when the upload opened it (before its checksum was
    computed), so every window checks the file against that state, not a later one.
    """

    def __init__(self, stream: Any, fd: int, start: int) -> None:  # noqa: ANN401
        self._stream = stream
        self.fd = fd
        self.start = start
        identity = getattr(stream, "identity", None)
        self.identity = identity if isinstance(identity, FileIdentity) else FileIdentity.of(fd)
        path = getattr(stream, "path", None)
        self.path = path if isinstance(path, str) else None
        self.content: Checksum | None = getattr(stream, "content", None)

    def window(self, offset: int, length: int) -> FileWindow:
        """The window of ``length`` bytes at ``offset`` from the upload's start."""
        return FileWindow(
            self.fd, self.start + offset, length, identity=self.identity, path=self.path
        )

    def check_unchanged(self) -> None:
        """Raise SourceChanged if the file is not in the state the upload began with."""
        self.identity.check(self.fd, self.path)

    def advance(self, n: int) -> None:
        """Count ``n`` bytes as read (progress and the upload's size)."""
        advance = getattr(self._stream, "advance", None)
        if advance is not None:
            advance(n)

    def finish(self, size: int) -> None:
        """Leave the stream after the uploaded bytes, as a read would have."""
        getattr(self._stream, "reposition", self._stream.seek)(self.start + size)


def _file_windows(body: Any, size: int | None) -> _WindowSource | None:  # noqa: ANN401
    """The file behind ``body`` if it is a regular file with ``size`` bytes left, else None."""
    try:
        fd = body.fileno()
        start = body.tell()
        info = os.fstat(fd)
    except (AttributeError, OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode) or size is None or info.st_size - start != size:
        return None
    return _WindowSource(body, fd, start)


def _stream_to(
    fd: int,
    body: Body,
    pos: int,
    end: int,
    report: Callable[[int], None],
    written: Callable[[int, int], None] | None,
) -> None:
    """Copy ``body`` into ``fd`` at offsets ``[pos, end)``; tell ``written`` when done."""
    start = pos
    while pos < end:
        n = body.copy_into(fd, pos, min(_DRAIN_CHUNK, end - pos))
        if not n:
            msg = f"the body ended {end - pos} bytes early"
            raise TransientError(msg)
        pos += n
        report(n)
    if written is not None:
        written(start, end)


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


class _RangesBody(Body):
    """The first part from the opening GET; later parts as ranged GETs, read ahead in order."""

    def __init__(self, owner: Chunking, bucket: str, key: str, first: GetResult) -> None:
        super().__init__()
        config = owner.config
        self._size = first.info.size
        self._part = max(config.part_size, 1)
        self._first: Body | None = first.body
        self._first_left = min(self._part, self._size)
        etag = first.info.etag or None
        self._pool = cf.ThreadPoolExecutor(config.max_concurrency, thread_name_prefix="s3po-range")
        self._window = config.max_concurrency

        def open_range(lo: int, hi: int) -> GetResult:
            return owner.inner.get(bucket, key, start=lo, end=hi, if_match=etag)

        def fetch(lo: int, hi: int) -> bytes:
            with open_range(lo, hi) as part:
                return part.body.readall()

        self._open_range = open_range
        self._fetch = fetch
        self._next_start = self._first_left
        self._queue: collections.deque[cf.Future[bytes]] = collections.deque()
        self._buffer = memoryview(b"")
        self._started = False

    def drain_to(
        self,
        fd: int,
        progress: Callable[[int], None] | None = None,
        written: Callable[[int, int], None] | None = None,
    ) -> int:
        """Write the whole object into the open file ``fd`` at its offsets, parts in parallel.

        Each range streams straight from its response into the file, so memory stays small
        and no thread waits for another's part. ``written(lo, hi)`` is called as each range
        is complete (in completion order). Returns the number of bytes written.
        """
        if self._started:
            msg = "drain_to() must be called before any read()"
            raise RuntimeError(msg)
        self._started = True
        lock = threading.Lock()

        def report(n: int) -> None:
            if progress is not None:
                with lock:
                    progress(n)

        def stream(body: Body, pos: int, end: int) -> None:
            _stream_to(fd, body, pos, end, report, written)

        def fetch_into(lo: int, hi: int) -> None:
            with self._open_range(lo, hi) as part:
                stream(part.body, lo, hi)

        ranges = range(self._first_left, self._size, self._part)
        futures = [
            self._pool.submit(fetch_into, lo, min(lo + self._part, self._size)) for lo in ranges
        ]
        try:
            first, self._first = self._first, None
            if first is not None:
                with first:
                    stream(first, 0, self._first_left)
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            cf.wait(futures)
            raise
        return self._size

    def _fill(self) -> None:
        self._started = True
        while len(self._queue) < self._window and self._next_start < self._size:
            lo = self._next_start
            hi = min(lo + self._part, self._size)
            self._queue.append(self._pool.submit(self._fetch, lo, hi))
            self._next_start = hi

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if not self._started:
            self._fill()
        if self._first is not None:
            want = self._first_left if size is None or size < 0 else min(size, self._first_left)
            data = self._first.read(want)
            if not data and self._first_left > 0:
                msg = f"the body ended {self._first_left} bytes early"
                raise TransientError(msg)
            self._first_left -= len(data)
            if self._first_left <= 0 or not data:
                self._first.close()
                self._first = None
            if data:
                return data
        if not self._buffer:
            if not self._queue:
                return b""
            part = self._queue.popleft().result()
            self._fill()
            if size >= len(part):
                return part  # the whole part, without another copy
            self._buffer = memoryview(part)
        n = len(self._buffer) if size is None or size < 0 else size
        data, self._buffer = bytes(self._buffer[:n]), self._buffer[n:]
        return data

    def close(self) -> None:
        if self._first is not None:
            self._first.close()
            self._first = None
        for f in self._queue:
            f.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
        super().close()
