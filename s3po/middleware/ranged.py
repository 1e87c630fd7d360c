"""Ranged downloads: large whole objects fetched as parallel ranged GETs.

The ranges are pinned to the ETag of the first response. Read in order, they are fetched
ahead (at most ``max_concurrency`` at once, each buffer drawn from the byte budget);
drained into a sink that takes random access (a file), each range streams straight to its
offset instead. Either way the ranges run on the scope's shared pool and stop, with
:class:`~s3po.Cancelled`, once the scope is cancelled.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import functools
import threading
from typing import TYPE_CHECKING

from s3po._types import Body, GetResult
from s3po.errors import TransientError
from s3po.middleware._chunked import ChunkedLayer

if TYPE_CHECKING:
    from s3po.backend.sinks import DownloadSink

__all__ = ["Ranged"]


class Ranged(ChunkedLayer):
    """Fetch large whole objects as parallel ranged GETs.

    .. versionadded:: 0.4.0
    """

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
        body = RangesBody(self, bucket, key, result)
        return GetResult(info=result.info, body=body, start=0, end=result.info.size)


class RangesBody(Body):
    """The first part from the opening GET; later parts as ranged GETs.

    .. versionadded:: 0.4.0
    """

    ranged = True

    def __init__(self, owner: Ranged, bucket: str, key: str, first: GetResult) -> None:
        """Continue ``first`` (the opening GET) with ranges fetched through ``owner``."""
        super().__init__()
        config = owner.config
        self._owner = owner
        self._bucket = bucket
        self._key = key
        self._etag = first.info.etag or None
        self._size = first.info.size
        self._part = max(config.part_size, 1)
        self._first: Body | None = first.body
        self._first_left = min(self._part, self._size)
        self._pool, self._own_pool = owner.pool("s3po-range")
        self._window = config.max_concurrency
        self._budget = owner.scope.budget if owner.scope is not None else None
        self._next_start = self._first_left
        self._queue: collections.deque[tuple[cf.Future[bytes], int]] = collections.deque()
        self._buffer = memoryview(b"")
        self._started = False

    def _open_range(self, lo: int, hi: int) -> GetResult:
        self._owner.check()
        return self._owner.inner.get(self._bucket, self._key, start=lo, end=hi, if_match=self._etag)

    def _fetch(self, lo: int, hi: int) -> bytes:
        with self._open_range(lo, hi) as part:
            return part.body.readall()

    def drain(self, sink: DownloadSink) -> int:
        """Write the whole object into ``sink``; ranges in parallel at their offsets if it can.

        Each range streams straight from its response into the sink, so memory stays
        small and no thread waits for another's part; at most ``max_concurrency`` ranges
        of this body are in flight. Returns the number of bytes written.

        Raises:
            Cancelled: The scope was cancelled; no further range is started.
        """
        if not sink.random_access:
            return super().drain(sink)
        if self._started:
            msg = "drain() must be called before any read()"
            raise RuntimeError(msg)
        self._started = True
        first, self._first = self._first, None
        _Drain(self, sink).run(first, self._first_left)
        return self._size

    def _fill(self) -> None:
        self._started = True
        while len(self._queue) < self._window and self._next_start < self._size:
            lo = self._next_start
            hi = min(lo + self._part, self._size)
            taken = self._reserve(hi - lo)
            if taken < 0:
                return  # the budget is spent elsewhere: fetch more once parts are read
            self._queue.append((self._pool.submit(self._fetch, lo, hi), taken))
            self._next_start = hi

    def _reserve(self, n: int) -> int:
        """Take a buffer's bytes from the budget: waiting only if nothing is queued."""
        self._owner.check()
        if self._budget is None:
            return 0
        if not self._queue:
            scope = self._owner.scope
            return self._budget.acquire(n, scope.cancelled if scope is not None else None)
        return self._budget.try_acquire(n) or -1

    def _release(self, n: int) -> None:
        if n and self._budget is not None:
            self._budget.release(n)

    def _released(self, n: int, _future: cf.Future[bytes]) -> None:
        self._release(n)

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes, in order."""
        if size is None or size < 0:
            return self.readall()
        if not self._started:
            self._fill()
        if self._first is not None:
            data = self._first.read(min(size, self._first_left))
            if not data and self._first_left > 0:
                msg = f"the body ended {self._first_left} bytes early"
                raise TransientError(msg, bucket=self._bucket, key=self._key)
            self._first_left -= len(data)
            if self._first_left <= 0 or not data:
                self._first.close()
                self._first = None
            if data:
                return data
        if not self._buffer:
            if not self._queue:
                return b""
            future, taken = self._queue.popleft()
            try:
                part = future.result()
            finally:
                self._release(taken)
            self._fill()
            if size >= len(part):
                return part  # the whole part, without another copy
            self._buffer = memoryview(part)
        data, self._buffer = bytes(self._buffer[:size]), self._buffer[size:]
        return data

    def close(self) -> None:
        """Close the first body and drop the ranges not yet fetched."""
        if self._first is not None:
            self._first.close()
            self._first = None
        for future, taken in self._queue:
            if future.cancel():
                self._release(taken)
            else:
                future.add_done_callback(functools.partial(self._released, taken))
        self._queue.clear()
        if self._own_pool:
            self._pool.shutdown(wait=False, cancel_futures=True)
        super().close()


class _Drain:
    """One drain of a ranged body into a random-access sink.

    At most ``max_concurrency`` ranges are in flight; the first failure stops it, and no
    response is left open.
    """

    def __init__(self, body: RangesBody, sink: DownloadSink) -> None:
        self._body = body
        self._sink = sink
        self._slots = threading.Semaphore(body._window)  # noqa: SLF001 - its own helper
        self._failed = threading.Event()

    def _copy(self, part: Body, lo: int, hi: int) -> None:
        try:
            with part:
                self._sink.copy_range(part, lo, hi)
        except BaseException:
            self._failed.set()
            raise
        finally:
            self._slots.release()

    def _fetch_into(self, lo: int, hi: int) -> None:
        try:
            part = self._body._open_range(lo, hi).body  # noqa: SLF001
        except BaseException:
            self._failed.set()
            self._slots.release()
            raise
        self._copy(part, lo, hi)

    def run(self, first: Body | None, first_size: int) -> None:
        """Copy ``first`` (the opening response) and every later range into the sink."""
        body = self._body
        pool = body._pool  # noqa: SLF001
        futures: list[cf.Future[None]] = []
        try:
            if first is not None and self._sink.present(0, first_size):
                first.close()  # a resumed download already has it
                first = None
            if first is not None:
                # The opening response streams at once, beside the ranges, so it never
                # sits idle while they are queued.
                self._slots.acquire()
                futures.append(pool.submit(self._copy, first, 0, first_size))
            part, size = body._part, body._size  # noqa: SLF001
            for lo in range(first_size, size, part):
                if self._sink.present(lo, min(lo + part, size)):
                    continue
                self._slots.acquire()
                if self._failed.is_set():
                    break
                body._owner.check()  # noqa: SLF001
                futures.append(pool.submit(self._fetch_into, lo, min(lo + part, size)))
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            cf.wait(futures)
            if first is not None and (not futures or futures[0].cancelled()):
                first.close()  # its copy never ran
            raise
