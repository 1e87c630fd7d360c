"""The codec interface: incremental compressors and decompressors.

A codec is named by its HTTP ``Content-Encoding`` token (``gzip``, ``zstd``, ``br``). Plugins
register codecs through the ``s3po_register_codecs`` hook; the core knows none by name.

Encoders and decoders work incrementally: ``encode``/``decode`` take a chunk and return what
is ready, ``flush`` returns the rest. Decoders raise :class:`~s3po.CorruptData` for a body
that is not valid for their format, and for one that ends early.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from s3po._types import MIB, Body, Readable
from s3po.errors import CorruptData

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Codec", "Decoder", "DecodingBody", "Encoder", "EncodingReader"]

#: Input slice fed to decoders while a size limit is enforced.
_GUARD_SLICE = 512


class Encoder(Protocol):
    """Compresses a stream chunk by chunk.

    .. versionadded:: 0.1.0
    """

    def encode(self, data: bytes) -> bytes:
        """Compress ``data``; return the output that is ready (maybe empty)."""
        ...

    def flush(self) -> bytes:
        """Finish the stream; return the remaining output."""
        ...


class Decoder(Protocol):
    """Decompresses a stream chunk by chunk.

    .. versionadded:: 0.1.0
    """

    def decode(self, data: bytes) -> bytes:
        """Decompress ``data``; raise :class:`~s3po.CorruptData` if it is invalid."""
        ...

    def flush(self) -> bytes:
        """Finish; raise :class:`~s3po.CorruptData` if the stream ended early."""
        ...


# Decoders of formats whose expansion is unbounded per input byte may also offer
# ``decode_bounded(data, room) -> bytes``: like ``decode``, but it may stop once it has
# produced more than ``room`` bytes. The size guard uses it to keep memory bounded.


@runtime_checkable
class Codec(Protocol):
    """A compression format, named by its Content-Encoding token.

    .. versionadded:: 0.1.0
    """

    #: The ``Content-Encoding`` token.
    name: str

    def encoder(self, level: int | None = None) -> Encoder:
        """Return a new encoder; ``level`` None means the codec's default."""
        ...

    def decoder(self) -> Decoder:
        """Return a new decoder."""
        ...


def _take(buffer: bytearray, want: int | None) -> bytes:
    """Remove and return up to ``want`` bytes (all of them if None) from ``buffer``."""
    if want is None:
        out = bytes(buffer)
        buffer.clear()
        return out
    out = bytes(buffer[:want])
    del buffer[:want]
    return out


class EncodingReader(Body):
    """A readable stream that compresses another stream as it is read.

    .. versionadded:: 0.1.0
    """

    def __init__(self, source: Readable, encoder: Encoder, chunk_size: int = MIB) -> None:
        """Compress what ``source`` (anything with ``read``) yields with ``encoder``."""
        super().__init__()
        self._source = source
        self._encoder = encoder
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._finished = False
        self.raw_bytes = 0

    def read(self, size: int = -1) -> bytes:
        """Return up to ``size`` compressed bytes (all of them if negative)."""
        want = size if size is not None and size >= 0 else None
        while not self._finished and (want is None or len(self._buffer) < want):
            chunk = self._source.read(self._chunk_size)
            if not chunk:
                self._buffer += self._encoder.flush()
                self._finished = True
                break
            self.raw_bytes += len(chunk)
            self._buffer += self._encoder.encode(chunk)
        return _take(self._buffer, want)


class DecodingBody(Body):
    """A readable stream that undoes a list of codecs over another stream.

    ``decoders`` are applied in the order given (the reverse of the Content-Encoding list).
    Decoding failures surface as :class:`~s3po.CorruptData` naming the object.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        source: Body,
        decoders: Sequence[Decoder],
        *,
        bucket: str | None = None,
        key: str | None = None,
        limit: int | None = None,
    ) -> None:
        """Decode ``source``; ``limit`` caps the decoded size (a bomb guard)."""
        super().__init__()
        self._source = source
        self._decoders = list(decoders)
        self._buffer = bytearray()
        self._finished = False
        self._bucket = bucket
        self._key = key
        self._limit = limit
        self.decoded_bytes = 0

    def _pump(self, data: bytes, final: bool) -> bytes:
        if self._limit is not None:
            out = bytearray()
            self._guarded(0, data, out)
            if final:
                self._guarded_flush(0, out)
            return bytes(out)
        for decoder in self._decoders:
            data = decoder.decode(data) if data else b""
            if final:
                data += decoder.flush()
        return data

    def _guarded(self, stage: int, data: bytes, out: bytearray) -> None:
        """Decode in small slices, checking the limit after each, so a bomb cannot fill memory.

        A slice of 512 bytes expands to at most tens of MiB even for the densest formats.
        """
        if stage == len(self._decoders):
            out += data
            self.decoded_bytes += len(data)
            self._check_limit()
            return
        decoder = self._decoders[stage]
        bounded = getattr(decoder, "decode_bounded", None)
        view = memoryview(data)
        for start in range(0, len(view), _GUARD_SLICE):
            piece = bytes(view[start : start + _GUARD_SLICE])
            if bounded is not None:
                room = (self._limit or 0) - self.decoded_bytes
                decoded = bounded(piece, room)
                if len(decoded) > room:
                    self.decoded_bytes += len(decoded)
                    self._check_limit()
            else:
                decoded = decoder.decode(piece)
            self._guarded(stage + 1, decoded, out)

    def _guarded_flush(self, stage: int, out: bytearray) -> None:
        for index in range(stage, len(self._decoders)):
            self._guarded(index + 1, self._decoders[index].flush(), out)

    def _check_limit(self) -> None:
        if self._limit is not None and self.decoded_bytes > self._limit:
            raise CorruptData(
                f"decompressed size exceeds the limit of {self._limit} bytes "
                "(max_decompressed_size); refusing a possible decompression bomb",
                bucket=self._bucket,
                key=self._key,
            )

    def read(self, size: int = -1) -> bytes:
        """Return up to ``size`` decoded bytes."""
        want = size if size is not None and size >= 0 else None
        try:
            while not self._finished and (want is None or len(self._buffer) < want):
                chunk = self._source.read(MIB)
                out = self._pump(chunk, final=not chunk)
                self._finished = not chunk
                if self._limit is None:
                    self.decoded_bytes += len(out)
                self._buffer += out
        except CorruptData as exc:
            if exc.bucket is None:
                exc.bucket, exc.key = self._bucket, self._key
            raise
        return _take(self._buffer, want)

    def close(self) -> None:
        """Close the source too."""
        self._source.close()
        super().close()
