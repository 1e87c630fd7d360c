"""The codec interface: incremental compressors and decompressors.

A codec is named by its HTTP ``Content-Encoding`` token (``gzip``, ``zstd``, ``br``). Plugins
register codecs through the ``s3po_register_codecs`` hook; the core knows none by name.

Encoders and decoders work incrementally: ``encode``/``decode`` take a chunk and return what
is ready, ``flush`` returns the rest. Decoders raise :class:`~s3po.CorruptData` for a body
that is not valid for their format, and for one that ends early.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from s3po._types import MIB, Body, Readable
from s3po.errors import CorruptData

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from s3po.backend.sinks import DownloadSink

__all__ = [
    "CODEC_METADATA",
    "DECODE_STEP",
    "DEFAULT_EXPANSION_RATIO",
    "EXPANSION_FLOOR",
    "MAX_ENCODING_LAYERS",
    "TRANSFER_TOKENS",
    "Codec",
    "Decoder",
    "DecodingBody",
    "Encoder",
    "EncodingReader",
    "UnboundedDecoder",
    "bounded",
    "encoding_tokens",
    "recorded_encoding",
    "stored_encoding",
    "too_many_layers",
]

#: Most output a decode call is asked for, at every layer of a stacked body; also the size
#: of the reads from the stored body. Memory per layer stays within a few times this.
DECODE_STEP = 256 * 1024

#: The most codecs a body may stack in its Content-Encoding; more is refused with
#: :class:`~s3po.CorruptData` (no real data is compressed six times over).
MAX_ENCODING_LAYERS = 5

#: An in-memory result is never refused by ``max_expansion_ratio`` below this size.
EXPANSION_FLOOR = 64 * MIB

#: The default ``max_expansion_ratio``: above any single gzip layer (at most about 1032)
#: and real data (rarely above 100), far below stacked layers and zstd or brotli bombs.
DEFAULT_EXPANSION_RATIO = 4096

#: Characters of a Content-Encoding value quoted in an error message.
_SHOWN = 60

#: Input slice fed to a decoder of the 0.1 shape (no ``max_length``), to bound its output.
_LEGACY_SLICE = 512


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


@runtime_checkable
class Decoder(Protocol):
    """Decompresses a stream chunk by chunk, with bounded output per call.

    ``decode(data, max_length)`` returns at most ``max_length`` bytes (everything if it is
    negative) and keeps the input it has not decoded yet; while :attr:`needs_input` is
    False, call ``decode(b"", max_length)`` to get the rest before giving more input. So
    a body that expands a million times over never needs more memory than one step.
    When the input has ended, call ``decode(b"", max_length)`` until it returns ``b""``,
    then :meth:`flush`. Concatenated members or frames, where the format allows them,
    decode one after another.

    Decoders of the 0.1 shape (``decode(data)`` and ``flush()`` only, see
    :class:`UnboundedDecoder`) still work: s3po feeds them their input in small slices.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``decode`` takes ``max_length``; :attr:`needs_input` is new.
    """

    def decode(self, data: bytes, max_length: int = -1) -> bytes:
        """Decompress ``data``; raise :class:`~s3po.CorruptData` if it is invalid.

        Args:
            data: More compressed input (may be empty).
            max_length: Most bytes to return; negative means no limit.

        Returns:
            Decompressed bytes, at most ``max_length`` of them.
        """
        ...

    @property
    def needs_input(self) -> bool:
        """False while input already given can still produce output."""
        ...

    def flush(self) -> bytes:
        """Finish; raise :class:`~s3po.CorruptData` if the stream ended early."""
        ...


class UnboundedDecoder(Protocol):
    """The decoder shape of s3po 0.1: ``decode`` returns all the output of its input.

    Still accepted from third-party codecs; s3po feeds such a decoder 512 bytes at a time
    and keeps any output beyond what was asked for, which bounds memory for formats
    whose expansion per input byte is bounded (gzip, zstd) but not for every format.
    Implement :class:`Decoder` instead.

    .. versionadded:: 0.2.0
    """

    def decode(self, data: bytes) -> bytes:
        """Decompress ``data``; return all of its output."""
        ...

    def flush(self) -> bytes:
        """Finish; raise :class:`~s3po.CorruptData` if the stream ended early."""
        ...


class _SlicingDecoder:
    """Adapts an :class:`UnboundedDecoder` to :class:`Decoder` by feeding small slices."""

    def __init__(self, inner: UnboundedDecoder) -> None:
        self._inner = inner
        self._input = b""
        self._pos = 0
        self._output = bytearray()

    @property
    def needs_input(self) -> bool:
        return self._pos >= len(self._input) and not self._output

    def decode(self, data: bytes, max_length: int = -1) -> bytes:
        if data:
            self._input = self._input[self._pos :] + data
            self._pos = 0
        if max_length < 0:
            rest, self._input, self._pos = self._input[self._pos :], b"", 0
            self._output += self._inner.decode(rest)
            return _take(self._output, None)
        while len(self._output) < max_length and self._pos < len(self._input):
            piece = self._input[self._pos : self._pos + _LEGACY_SLICE]
            self._pos += len(piece)
            self._output += self._inner.decode(piece)
        return _take(self._output, max_length)

    def flush(self) -> bytes:
        return self.decode(b"") + self._inner.flush()


def bounded(decoder: Decoder | UnboundedDecoder) -> Decoder:
    """Return ``decoder`` itself if it has the bounded shape, else an adapter over it.

    .. versionadded:: 0.2.0
    """
    if isinstance(decoder, Decoder):
        return decoder
    return _SlicingDecoder(decoder)


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

    def decoder(self) -> Decoder | UnboundedDecoder:
        """Return a new decoder (a bounded :class:`Decoder`; the 0.1 shape still works)."""
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
    Each layer is asked for at most :data:`DECODE_STEP` bytes at a time and pulls input
    from the layer below only when it needs some, so reading the body in pieces takes a
    few MiB of memory whatever it expands to. Decoding failures surface as
    :class:`~s3po.CorruptData` naming the object.

    Two guards refuse a body with :class:`~s3po.CorruptData`: ``limit`` caps the decoded
    size however it is read; ``max_expansion_ratio`` applies to :meth:`readall` only (the
    whole content held in memory) and refuses more than that many times ``stored_size``
    (the bytes read from the source, if larger), but never below :data:`EXPANSION_FLOOR`.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Bounded output per layer; ``max_expansion_ratio`` and ``stored_size``.
    """

    def __init__(
        self,
        source: Body,
        decoders: Sequence[Decoder | UnboundedDecoder],
        *,
        bucket: str | None = None,
        key: str | None = None,
        limit: int | None = None,
        max_expansion_ratio: float | None = None,
        stored_size: int | None = None,
    ) -> None:
        """Decode ``source``; ``limit`` and ``max_expansion_ratio`` are bomb guards."""
        super().__init__()
        if len(decoders) > MAX_ENCODING_LAYERS:
            raise too_many_layers(len(decoders), None, bucket=bucket, key=key)
        self._source = source
        self._decoders = [bounded(d) for d in decoders]
        self._drained = [False] * len(self._decoders)
        self._buffer = bytearray()
        self._finished = False
        self._bucket = bucket
        self._key = key
        self._limit = limit
        self._ratio = max_expansion_ratio
        self._stored_size = stored_size or 0
        self._in_memory = False
        self.raw_bytes = 0
        self.decoded_bytes = 0

    def _pull(self, stage: int) -> bytes:
        """Up to DECODE_STEP bytes out of layer ``stage`` (-1 is the source); b"" at the end."""
        if stage < 0:
            data = self._source.read(DECODE_STEP)
            self.raw_bytes += len(data)
            return data
        decoder = self._decoders[stage]
        while not self._drained[stage]:
            if not decoder.needs_input and (out := decoder.decode(b"", DECODE_STEP)):
                return out
            data = self._pull(stage - 1)
            if data:
                if out := decoder.decode(data, DECODE_STEP):
                    return out
                continue
            # The input has ended: take what is left, then let the decoder check its end.
            if out := decoder.decode(b"", DECODE_STEP):
                return out
            self._drained[stage] = True
            return decoder.flush()
        return b""

    def _count(self, out: bytes) -> None:
        self.decoded_bytes += len(out)
        if self._limit is not None and self.decoded_bytes > self._limit:
            raise CorruptData(
                f"decompressed size exceeds the limit of {self._limit} bytes "
                "(max_decompressed_size); refusing a possible decompression bomb",
                bucket=self._bucket,
                key=self._key,
            )
        if not self._in_memory or self._ratio is None:
            return
        stored = max(self._stored_size, self.raw_bytes)
        if self.decoded_bytes > max(EXPANSION_FLOOR, self._ratio * stored):
            raise CorruptData(
                f"read into memory, the content would expand more than {self._ratio:g} times "
                f"its {stored} stored bytes (max_expansion_ratio); refusing a possible "
                "decompression bomb. Stream it to a file or stream instead (that costs no "
                "memory), or raise TransferConfig.max_expansion_ratio (None turns it off)",
                bucket=self._bucket,
                key=self._key,
            )

    def read(self, size: int = -1) -> bytes:
        """Return up to ``size`` decoded bytes."""
        want = size if size is not None and size >= 0 else None
        try:
            while not self._finished and (want is None or len(self._buffer) < want):
                out = self._pull(len(self._decoders) - 1)
                if not out:
                    self._finished = True
                    break
                self._count(out)
                self._buffer += out
        except CorruptData as exc:
            if exc.bucket is None:
                exc.bucket, exc.key = self._bucket, self._key
            raise
        return _take(self._buffer, want)

    def drain(self, sink: DownloadSink) -> int:
        """Decode the whole content into ``sink``, in order, from its start.

        A compressed stream decodes only from its start, so a resumable sink is told
        (:meth:`~s3po.backend.sinks.DownloadSink.restart`) that what an earlier run left
        is not continued.

        .. versionadded:: 0.4.0
        """
        sink.restart(
            "it is stored compressed as one stream with no frame index, and such a stream "
            "decodes only from its start"
        )
        return super().drain(sink)

    def readall(self) -> bytes:
        """Read to the end into memory, where ``max_expansion_ratio`` applies."""
        self._in_memory = True
        return super().readall()

    def close(self) -> None:
        """Close the source too."""
        self._source.close()
        super().close()


def too_many_layers(
    count: int, content_encoding: str | None, *, bucket: str | None, key: str | None
) -> CorruptData:
    """The error for a body that stacks more than :data:`MAX_ENCODING_LAYERS` codecs.

    .. versionadded:: 0.2.0
    """
    shown = ""
    if content_encoding:
        shown = f" ({textwrap.shorten(content_encoding, _SHOWN, placeholder='...')!r})"
    return CorruptData(
        f"the body is stored with {count} encodings stacked in its Content-Encoding{shown}; "
        f"s3po undoes at most {MAX_ENCODING_LAYERS} (more is no real data, and a way to "
        "exhaust memory). Download with decompress=False to get the stored bytes",
        bucket=bucket,
        key=key,
    )


_IDENTITY = {"", "identity"}

#: Tokens some stores keep in Content-Encoding that say how a request was sent, not how
#: the content is encoded: ``aws-chunked`` (the chunked upload framing of SigV4 streaming
#: and of trailing checksums, which SeaweedFS stores as given). The stored bytes carry no
#: trace of it, so it is dropped wherever the tokens are read.
TRANSFER_TOKENS = frozenset({"aws-chunked"})

#: The user-metadata name under which s3po records the codec it applied on upload.
CODEC_METADATA = "s3po-codec"


def encoding_tokens(content_encoding: str | None) -> list[str]:
    """Split a ``Content-Encoding`` value into its codec tokens, in the order applied.

    ``identity`` and the transfer tokens of :data:`TRANSFER_TOKENS` are left out: they
    name no coding of the stored bytes.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.5.0
       ``aws-chunked`` is left out.
    """
    if not content_encoding:
        return []
    tokens = (t.strip().lower() for t in content_encoding.split(","))
    return [t for t in tokens if t not in _IDENTITY and t not in TRANSFER_TOKENS]


def recorded_encoding(content_encoding: str | None, metadata: Mapping[str, str]) -> str | None:
    """The codec s3po recorded for an object that no longer says it is encoded, or None.

    s3po records the codec it applied in the ``s3po-codec`` metadata. A tool that copies an
    object may keep the metadata and drop ``Content-Encoding``; then this record is the
    only account of how the stored bytes are encoded. None while ``Content-Encoding``
    still names a codec (it is what the store says) or when there is no record.

    .. versionadded:: 0.4.0
    """
    if encoding_tokens(content_encoding):
        return None
    recorded = metadata.get(CODEC_METADATA, "").strip().lower()
    return recorded or None


def stored_encoding(content_encoding: str | None, metadata: Mapping[str, str]) -> list[str]:
    """The codecs the stored bytes are encoded with, in the order applied.

    The tokens of ``Content-Encoding``; when it names none, the codec of s3po's own
    record (:func:`recorded_encoding`).

    .. versionadded:: 0.4.0
    """
    tokens = encoding_tokens(content_encoding)
    if tokens:
        return tokens
    recorded = recorded_encoding(content_encoding, metadata)
    return [recorded] if recorded else []
