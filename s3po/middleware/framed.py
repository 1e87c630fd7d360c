"""Framed downloads: the frames of a seekable object fetched and decoded in parallel.

A whole download of a framed object (seekable zstd or gzip, see :mod:`s3po.frames`) larger
than the chunk threshold, drained into a file or read into memory, reads the frame index
from the object's tail, then fetches frame-aligned ranges on the scope's pool and decodes
each in the thread that fetched it (zstandard and zlib release the GIL while they work),
writing each frame's content at its offset. Read as a stream, or without an index, the
body decodes in order as any :class:`~s3po.codecs.DecodingBody` does.

The codec layer makes this body; the integrity layer above it still verifies the whole
content (the file's stretches as they complete, or the bytes read into memory).

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
from typing import TYPE_CHECKING

from s3po._types import BytesBody
from s3po.codecs import DecodingBody
from s3po.frames import read_index

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from s3po._scope import Scope
    from s3po._types import Backend, Body, ObjectInfo
    from s3po.backend.sinks import DownloadSink
    from s3po.codecs import Decoder, UnboundedDecoder
    from s3po.config import ChunkConfig
    from s3po.frames import FramedCodec, FrameIndex

__all__ = ["FramedBody"]

#: A run of frames fetched at once holds at most this many times its stored target.
_DECODED_PARTS = 4


class FramedBody(DecodingBody):
    """A decoding body that drains a framed object's frames in parallel.

    Args:
        source: The opening response's body (closed unused when the frames are fetched).
        decoders: The codecs to undo in order, for a sequential read.
        codec: The one codec of the object's Content-Encoding, which reads its index.
        inner: The layer below the codec layer, asked for the index and frame ranges.
        info: The object, whose ETag pins every range.
        chunk: Part size (a run of frames is about one part) and concurrency.
        scope: The pool, byte budget and cancel switch.
        limit: As for :class:`~s3po.codecs.DecodingBody`.
        max_expansion_ratio: As for :class:`~s3po.codecs.DecodingBody`.

    .. versionadded:: 0.4.0
    """

    ranged = True

    def __init__(
        self,
        source: Body,
        decoders: Sequence[Decoder | UnboundedDecoder],
        *,
        codec: FramedCodec,
        inner: Backend,
        info: ObjectInfo,
        chunk: ChunkConfig,
        scope: Scope,
        limit: int | None = None,
        max_expansion_ratio: float | None = None,
    ) -> None:
        """Decode ``source`` in order, or its frames in parallel when drained whole."""
        super().__init__(
            source,
            decoders,
            bucket=info.bucket,
            key=info.key,
            limit=limit,
            max_expansion_ratio=max_expansion_ratio,
            stored_size=info.size,
        )
        self._codec = codec
        self._inner = inner
        self._info = info
        self._chunk = chunk
        self._scope = scope
        self._begun = False

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` decoded bytes, in order."""
        self._begun = True
        return super().read(size)

    def drain(self, sink: DownloadSink) -> int:
        """Write the content into ``sink``: frames in parallel at their offsets if it can.

        A frame whose content the sink already holds (a resumed download's partial file,
        see :meth:`~s3po.backend.sinks.DownloadSink.present`) is not fetched again: only the
        stored ranges of the frames missing are, pinned to the ETag.
        """
        index = self._index() if sink.random_access else None
        if index is None:
            if sink.random_access and not self._begun:
                sink.restart(self._why_in_order())
            return super().drain(sink)

        def put(offset: int, data: bytes) -> None:
            sink.copy_range(BytesBody(data), offset, offset + len(data))

        self._run(index, put, sink)
        return index.size

    def readall(self) -> bytes:
        """Read the whole content into memory, frames decoded in parallel if it is framed."""
        self._in_memory = True
        index = self._index()
        if index is None:
            return super().readall()
        buffer = bytearray(index.size)
        view = memoryview(buffer)

        def put(offset: int, data: bytes) -> None:
            view[offset : offset + len(data)] = data

        self._run(index, put)
        return bytes(buffer)

    def _why_in_order(self) -> str:
        """Why the content is decoded in order from its start (for a resumed download)."""
        if self._info.size <= self._chunk.threshold:
            return (
                f"it is compressed ({self._codec.name}) and no larger than the chunk threshold, "
                "so it is fetched and decoded as one stream from its start"
            )
        return (
            f"it is compressed ({self._codec.name}) as one stream with no frame index (or a "
            "single frame), and such a stream decodes only from its start"
        )

    def _index(self) -> FrameIndex | None:
        """The frame index, if the frames are worth fetching apart; closes the source then."""
        if self._begun or self._info.size <= self._chunk.threshold:
            return None
        self._begun = True
        etag = self._info.etag or None

        def read_range(start: int, end: int) -> bytes:
            got = self._inner.get(
                self._info.bucket, self._info.key, start=start, end=end, if_match=etag
            )
            with got:
                data: bytes = got.body.readall()
            return data

        index = read_index(self._codec, read_range, self._info.size)
        if index is None or len(index.frames) < 2:  # noqa: PLR2004 - one frame: in order
            self._begun = False  # the source is still unread: decode it in order
            return None
        # The size the index declares is exact (each frame is checked against it), so the
        # bomb guards apply to it before anything is decoded.
        self.decoded_bytes = index.size
        self._count(b"")
        self._source.close()
        return index

    def _run(
        self,
        index: FrameIndex,
        put: Callable[[int, bytes], None],
        sink: DownloadSink | None = None,
    ) -> None:
        # Runs of about a part, but at least two for each range that may be in flight.
        window = max(self._chunk.max_concurrency, 1)
        part = max(1, min(self._chunk.part_size, self._info.size // (2 * window)))
        runs = index.groups(part, part * _DECODED_PARTS)
        if sink is not None:
            runs = _missing(index, runs, sink)
        _Frames(self, index, put).run(runs)
        self._finished = True

    def _fetch(self, index: FrameIndex, first: int, last: int) -> list[tuple[int, bytes]]:
        """Frames ``first`` to ``last``: one ranged GET pinned to the ETag, then decoded."""
        self._scope.check()
        start, end = index.frames[first].offset, index.frames[last].end
        info = self._info
        got = self._inner.get(
            info.bucket, info.key, start=start, end=end, if_match=info.etag or None
        )
        with got:
            stored = got.body.readall()
        out = []
        for frame in index.frames[first : last + 1]:
            raw = stored[frame.offset - start : frame.end - start]
            out.append((frame.decoded_offset, self._codec.decode_frame(raw, frame)))
        return out


def _missing(
    index: FrameIndex, runs: list[tuple[int, int]], sink: DownloadSink
) -> list[tuple[int, int]]:
    """``runs`` less the frames whose content ``sink`` already holds, split where they were.

    An empty frame holds nothing to skip, and is fetched with its neighbours.
    """
    frames = index.frames
    kept: list[tuple[int, int]] = []
    for first, last in runs:
        start: int | None = None
        for i in range(first, last + 1):
            frame = frames[i]
            lo = frame.decoded_offset
            have = frame.decoded_size > 0 and sink.present(lo, lo + frame.decoded_size)
            if have and start is not None:
                kept.append((start, i - 1))
                start = None
            elif not have and start is None:
                start = i
        if start is not None:
            kept.append((start, last))
    return kept


class _Frames:
    """One parallel run over a framed object: at most ``max_concurrency`` runs in flight."""

    def __init__(
        self, body: FramedBody, index: FrameIndex, put: Callable[[int, bytes], None]
    ) -> None:
        self._body = body
        self._index = index
        self._put = put
        scope = body._scope  # noqa: SLF001 - its own helper
        self._scope = scope
        self._window = max(body._chunk.max_concurrency, 1)  # noqa: SLF001
        self._slots = threading.Semaphore(self._window)
        self._failed = threading.Event()

    def _one(self, first: int, last: int, taken: int) -> None:
        try:
            for offset, data in self._body._fetch(self._index, first, last):  # noqa: SLF001
                self._put(offset, data)
        except BaseException:
            self._failed.set()
            raise
        finally:
            if taken and self._scope.budget is not None:
                self._scope.budget.release(taken)
            self._slots.release()

    def run(self, runs: list[tuple[int, int]]) -> None:
        pool = self._scope.pool(self._window)
        budget = self._scope.budget
        frames = self._index.frames
        futures: list[tuple[cf.Future[None], int]] = []
        try:
            for first, last in runs:
                self._slots.acquire()
                if self._failed.is_set():
                    self._slots.release()
                    break
                self._scope.check()
                need = sum(f.size + f.decoded_size for f in frames[first : last + 1])
                taken = budget.acquire(need, self._scope.cancelled) if budget is not None else 0
                futures.append((pool.submit(self._one, first, last, taken), taken))
            for future, _ in futures:
                future.result()
        except BaseException:
            for future, taken in futures:
                if future.cancel() and taken and budget is not None:
                    budget.release(taken)  # it never ran, so it never released its bytes
            cf.wait([future for future, _ in futures])
            raise
