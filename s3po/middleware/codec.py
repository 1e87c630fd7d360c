"""Codec: compress on the way up, undo Content-Encoding on the way down.

On upload the body is compressed as it streams (nothing is read whole), the codec's token
is appended to ``Content-Encoding`` and recorded in the ``s3po-codec`` metadata. On download
the tokens of ``Content-Encoding`` are undone in reverse order; an encoding no installed codec
knows raises :class:`~s3po.UnknownCodec` rather than handing back compressed bytes as content.
Transfer tokens such as ``aws-chunked`` are not codings and are ignored
(:data:`~s3po.codecs.TRANSFER_TOKENS`). An object without ``Content-Encoding`` whose
``s3po-codec`` metadata says s3po compressed it (another tool copied it and dropped the
header) is decoded by that record, with a warning; if its bytes do not decode, the error
says why.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from s3po._types import BytesBody, ForwardingBackend, GetResult, UploadBody
from s3po.backend.protocol import conditioned
from s3po.backend.sources import BytesSource, UploadSource
from s3po.codecs import (
    CODEC_METADATA,
    DEFAULT_EXPANSION_RATIO,
    MAX_ENCODING_LAYERS,
    DecodingBody,
    EncodingReader,
    encoding_tokens,
    recorded_encoding,
    too_many_layers,
)
from s3po.errors import CorruptData, UnknownCodec
from s3po.frames import framed_codec
from s3po.middleware.framed import FramedBody

if TYPE_CHECKING:
    from s3po._scope import Scope
    from s3po._types import Backend, Headers, ObjectInfo
    from s3po.backend.models import WriteCondition
    from s3po.config import ChunkConfig
    from s3po.plugins import CodecRegistry
    from s3po.resume import UploadJournal

__all__ = ["CODEC_METADATA", "CodecLayer", "EncodedSource", "encoding_tokens"]

log = logging.getLogger(__name__)


class EncodedSource(UploadSource):
    """A source compressed as it is read.

    A stream of unknown size with no file behind it, so the multipart layer buffers its
    parts.

    .. versionadded:: 0.4.0
    """

    def __init__(self, reader: EncodingReader, *, resume: UploadJournal | None = None) -> None:
        """Hand out what ``reader`` compresses; ``resume``: the journal of the encoded stream."""
        super().__init__(size=None, resume=resume)
        self._reader = reader

    def read(self, size: int = -1, /) -> bytes:
        """Read up to ``size`` compressed bytes."""
        data = self._reader.read(size)
        self._moved(len(data))
        return data


class CodecLayer(ForwardingBackend):
    """Compress uploads with ``compress`` and decode downloads by Content-Encoding.

    Args:
        inner: The backend below.
        codecs: Where codec names are looked up.
        compress: Codec for uploads, or None.
        level: Compression level, or None for the codec's default.
        decompress: Undo Content-Encoding on whole-object downloads.
        max_decompressed_size: Refuse to decode beyond this many bytes.
        max_expansion_ratio: Refuse, when the whole content is read into memory, to decode
            beyond this many times the stored size (see :class:`~s3po.codecs.DecodingBody`);
            None turns it off.
        chunk: With ``scope``, a whole download of a framed object (seekable zstd or
            gzip) above ``chunk.threshold`` fetches and decodes its frames in parallel
            (see :mod:`s3po.middleware.framed`); without them, it decodes in order.
        scope: The pool, byte budget and cancel switch those frames use.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.4.0
       ``chunk`` and ``scope``: framed objects decode in parallel.
    """

    def __init__(
        self,
        inner: Backend,
        codecs: CodecRegistry,
        *,
        compress: str | None = None,
        level: int | None = None,
        decompress: bool = True,
        max_decompressed_size: int | None = None,
        max_expansion_ratio: float | None = DEFAULT_EXPANSION_RATIO,
        chunk: ChunkConfig | None = None,
        scope: Scope | None = None,
    ) -> None:
        """Wrap ``inner``; raises UnknownCodec at once if ``compress`` is not installed."""
        super().__init__(inner)
        self.codecs = codecs
        self.codec = codecs.get(compress) if compress else None
        self.level = level
        self.decompress = decompress
        self.max_decompressed_size = max_decompressed_size
        self.max_expansion_ratio = max_expansion_ratio
        self.chunk = chunk
        self.scope = scope

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
        """Compress ``body`` as it streams, and label it with Content-Encoding."""
        if self.codec is None:
            return self.inner.put(
                bucket, key, body, headers=headers, size=size, **conditioned(condition)
            )
        encoder = self.codec.encoder(self.level)
        encoded: UploadBody
        if isinstance(body, bytes | bytearray | memoryview | BytesSource):
            data = body.read() if isinstance(body, BytesSource) else bytes(body)
            packed = encoder.encode(data) + encoder.flush()
            encoded, new_size = packed, len(packed)
        else:
            resume = body.resume if isinstance(body, UploadSource) else None
            if resume is not None:
                # Resumable only if this codec at this level encodes the file again into
                # the same parts; the multipart layer checks each stored part, and the
                # journal refuses another codec or level.
                resume = resume.encoded(self.codec.name, self.level)
            encoded = EncodedSource(EncodingReader(body, encoder), resume=resume)
            new_size = None
        tokens = [*encoding_tokens(headers.content_encoding), self.codec.name]
        headers = dataclasses.replace(
            headers,
            content_encoding=", ".join(tokens),
            metadata={**headers.metadata, CODEC_METADATA: self.codec.name},
        )
        return self.inner.put(
            bucket, key, encoded, headers=headers, size=new_size, **conditioned(condition)
        )

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> GetResult:
        """Decode a whole-object download; ranged reads return stored bytes.

        Raises:
            CorruptData: More than :data:`~s3po.codecs.MAX_ENCODING_LAYERS` codecs are
                stacked (the bytes are still readable with ``decompress=False``).
            UnknownCodec: No installed codec decodes one of the tokens.
        """
        result = self.inner.get(bucket, key, start=start, end=end, if_match=if_match)
        if not self.decompress or start != 0 or end is not None:
            return result
        headers = result.info.headers
        tokens = encoding_tokens(headers.content_encoding)
        recorded = None
        if not tokens:
            recorded = recorded_encoding(headers.content_encoding, headers.metadata)
            if recorded is None:
                return result
            tokens = [recorded]
            log.warning(
                "s3://%s/%s has no Content-Encoding, but its %s metadata records that s3po "
                "stored it compressed with %s (another tool copied it and dropped the "
                "header?); decoding it as %s. Download with decompress=False for the "
                "stored bytes",
                bucket,
                key,
                CODEC_METADATA,
                recorded,
                recorded,
            )
        if len(tokens) > MAX_ENCODING_LAYERS:
            result.body.close()
            raise too_many_layers(
                len(tokens), result.info.headers.content_encoding, bucket=bucket, key=key
            )
        try:
            decoders = [self.codecs.get(token).decoder() for token in reversed(tokens)]
        except UnknownCodec as exc:
            result.body.close()
            if recorded is not None:
                raise UnknownCodec(
                    f"s3://{bucket}/{key} has no Content-Encoding, but its {CODEC_METADATA} "
                    f"metadata records that s3po stored it compressed with {recorded!r}, "
                    f"which no installed codec decodes ({exc}); install the codec's plugin, "
                    "or download with decompress=False to get the stored bytes"
                ) from exc
            raise UnknownCodec(
                f"s3://{bucket}/{key} is stored with Content-Encoding "
                f"{result.info.headers.content_encoding!r}, which no installed codec decodes "
                f"({exc}); install the codec's plugin, or download with decompress=False "
                "to get the stored bytes"
            ) from exc
        codec = framed_codec(self.codecs, result.info.headers.content_encoding)
        body: DecodingBody
        if result.info.size == 0:
            body = DecodingBody(BytesBody(b""), [], bucket=bucket, key=key)
        elif codec is not None and self.chunk is not None and self.scope is not None:
            body = FramedBody(
                result.body,
                decoders,
                codec=codec,
                inner=self.inner,
                info=result.info,
                chunk=self.chunk,
                scope=self.scope,
                limit=self.max_decompressed_size,
                max_expansion_ratio=self.max_expansion_ratio,
            )
        else:
            kind = DecodingBody if recorded is None else _RecordedDecodingBody
            body = kind(
                result.body,
                decoders,
                bucket=bucket,
                key=key,
                limit=self.max_decompressed_size,
                max_expansion_ratio=self.max_expansion_ratio,
                stored_size=result.info.size,
            )
        return GetResult(info=result.info, body=body, start=0, end=result.end)


class _RecordedDecodingBody(DecodingBody):
    """Decodes by s3po's ``s3po-codec`` record; explains bytes that are not in that format.

    Such an object lost its Content-Encoding to another tool; if its bytes fail to decode
    before any content came out, that tool most likely decoded them too (or wrote other
    bytes), so the error says so instead of blaming damage.
    """

    def read(self, size: int = -1) -> bytes:
        """Return up to ``size`` decoded bytes; a failure at the start explains the record."""
        try:
            return super().read(size)
        except CorruptData as exc:
            if self.decoded_bytes:
                raise
            raise CorruptData(
                f"s3://{self._bucket}/{self._key} has no Content-Encoding, but its "
                f"{CODEC_METADATA} metadata records that s3po stored it compressed; its bytes "
                f"do not decode that way ({exc}). Another tool rewrote the object and dropped "
                "the header, perhaps after decoding the content: download with "
                "decompress=False (--no-decompress) for the stored bytes",
                bucket=self._bucket,
                key=self._key,
            ) from exc
