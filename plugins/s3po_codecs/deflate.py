"""The ``deflate`` codec (RFC 9110: the zlib format of RFC 1950), and ``zlib``, its old name.

``Content-Encoding: deflate`` means zlib-wrapped DEFLATE data. Some servers have always sent
raw DEFLATE (RFC 1951) under that name instead, and browsers read both; so does the
decoder here, telling them apart by the first two bytes, as browsers do. Encoding writes the
zlib format.

``zlib`` is the name the original s3po took for this codec (``compress="zlib"``); it wrote
``Content-Encoding: deflate``, and so does s3po: the codec registered as ``zlib`` is this one,
named ``deflate``, so objects written either way read back everywhere.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import zlib
from typing import Any

import s3po

__all__ = ["DeflateCodec", "s3po_register_codecs"]

_ZLIB = 15  # zlib wrapper, 32 KiB window
_RAW = -15  # raw DEFLATE, 32 KiB window
_HEADER = 2


def _is_zlib(head: bytes) -> bool:
    """Whether the first two bytes are a zlib header (RFC 1950 section 2.2)."""
    cmf, flg = head[0], head[1]
    return cmf & 0x0F == zlib.DEFLATED and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0  # noqa: PLR2004


class _Encoder:
    def __init__(self, level: int) -> None:
        self._c = zlib.compressobj(level, zlib.DEFLATED, _ZLIB)

    def encode(self, data: bytes) -> bytes:
        return self._c.compress(data)

    def flush(self) -> bytes:
        return self._c.flush()


class _Decoder:
    """Bounded deflate decoding (zlib ``max_length``); zlib-wrapped or raw, told by its head."""

    def __init__(self) -> None:
        self._d: Any = None  # made once the first two bytes tell the format
        self._tail = b""  # input not yet given to the decompressor
        self._fed = False

    @property
    def needs_input(self) -> bool:
        return not self._tail and (self._d is None or not self._d.unconsumed_tail)

    def decode(self, data: bytes, max_length: int = -1) -> bytes:
        data = self._tail + data if self._tail else data
        self._tail = b""
        if self._d is None:
            if len(data) < _HEADER:
                self._tail = data
                return b""
            self._d = zlib.decompressobj(_ZLIB if _is_zlib(data) else _RAW)
        if self._d.eof:
            if data:
                raise s3po.CorruptData("the deflate body has bytes after its end")
            return b""
        data = data or self._d.unconsumed_tail
        self._fed = self._fed or bool(data)
        try:
            out: bytes = self._d.decompress(data, max(max_length, 0))  # 0: no limit
        except zlib.error as exc:
            raise s3po.CorruptData(f"the body is not valid deflate: {exc}") from exc
        if self._d.eof and self._d.unused_data:
            raise s3po.CorruptData("the deflate body has bytes after its end")
        return out

    def flush(self) -> bytes:
        if self._tail:  # a single byte: too short to be deflate of anything
            raise s3po.CorruptData("the deflate body ended early (truncated)")
        if self._d is None:
            return b""
        rest = b""
        while self._d.unconsumed_tail:
            rest += self.decode(b"")
        if self._fed and not self._d.eof:
            raise s3po.CorruptData("the deflate body ended before its end marker (truncated)")
        return rest


class DeflateCodec:
    """deflate (the zlib format), level 1 to 9 (default 6), read in both forms.

    .. versionadded:: 0.4.0
    """

    name = "deflate"

    def encoder(self, level: int | None = None) -> s3po.Encoder:
        """Return a streaming compressor writing the zlib format."""
        return _Encoder(6 if level is None else level)

    def decoder(self) -> s3po.Decoder:
        """Return a streaming decompressor for zlib-wrapped or raw DEFLATE."""
        return _Decoder()


@s3po.hookimpl
def s3po_register_codecs(registry: s3po.CodecRegistry) -> None:
    """Register ``deflate``, and ``zlib``, the original s3po's name for it."""
    registry.register("deflate", DeflateCodec)
    registry.register("zlib", DeflateCodec)
