"""The ``gzip`` codec, using the fastest installed implementation.

python-isal (ISA-L, several times faster than zlib) when installed, else zlib-ng's Python
binding, else the standard library's zlib. All write the standard gzip format that
``gzip -d`` and every HTTP client read; decoding accepts concatenated gzip members.

``gzip-seekable`` writes members of a fixed content size and an index that plain gzip
readers ignore (see :mod:`s3po_codecs.gzip_index`); its Content-Encoding is ``gzip``. The
``gzip`` codec reads the index (it is a :class:`~s3po.frames.FramedCodec`), so a seek on
:class:`~s3po.fs.S3poFileSystem` reads only the members it needs and a whole download
decodes the members in parallel.

.. versionadded:: 0.1.0
.. versionchanged:: 0.4.0
   ``gzip-seekable``.
"""

from __future__ import annotations

import importlib
import zlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

import s3po
from s3po_codecs.gzip_index import (
    MAX_MEMBER,
    SeekableGzipEncoder,
    decode_member,
    parse_gzip_index,
)

if TYPE_CHECKING:
    from s3po.frames import Frame, FrameIndex

__all__ = ["GzipCodec", "SeekableGzipCodec", "s3po_register_codecs"]

_WBITS = 16 + 15  # gzip wrapper, 32 KiB window


def _zlib_module() -> ModuleType:
    for name in ("isal.isal_zlib", "zlib_ng.zlib_ng"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return zlib


class _Encoder:
    def __init__(self, module: ModuleType, level: int) -> None:
        self._c = module.compressobj(level, module.DEFLATED, _WBITS)

    def encode(self, data: bytes) -> bytes:
        return self._c.compress(data)  # type: ignore[no-any-return]

    def flush(self) -> bytes:
        return self._c.flush()  # type: ignore[no-any-return]


class _Decoder:
    """Bounded gzip decoding (zlib ``max_length``), member after member."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module
        self._d: Any = module.decompressobj(_WBITS)
        self._tail = b""
        self._started = False  # inside a member that has not ended

    @property
    def needs_input(self) -> bool:
        return not self._tail

    def decode(self, data: bytes, max_length: int = -1) -> bytes:
        data = self._tail + data if self._tail else data
        self._tail = b""
        out: list[bytes] = []
        room = max_length  # negative: no limit
        try:
            while data or (self._started and room != 0):
                if room == 0:
                    self._tail = data
                    break
                self._started = True
                chunk = self._d.decompress(data, max(room, 0))  # 0 means no limit to zlib
                out.append(chunk)
                if room > 0:
                    room -= len(chunk)
                if self._d.eof:
                    # Another gzip member may follow (concatenated members are valid gzip).
                    data = self._d.unused_data
                    self._d = self._module.decompressobj(_WBITS)
                    self._started = False
                    continue
                data = self._d.unconsumed_tail
                if not data or not chunk:
                    self._tail = data
                    break
        except self._module.error as exc:
            raise s3po.CorruptData(f"the body is not valid gzip: {exc}") from exc
        return b"".join(out)

    def flush(self) -> bytes:
        rest = self.decode(b"") if self._tail or self._started else b""
        if self._started:
            raise s3po.CorruptData("the gzip body ended before its end marker (truncated)")
        return rest


class GzipCodec:
    """gzip, level 1 to 9 (default 6 with zlib; ISA-L's levels 0 to 3, default 1).

    .. versionadded:: 0.1.0
    """

    name = "gzip"

    def __init__(self) -> None:
        """Pick the implementation."""
        self.module = _zlib_module()
        self.implementation = self.module.__name__

    def _level(self, level: int | None) -> int:
        if level is None:
            level = 1 if self.module is not zlib else 6
        if self.module.__name__.startswith("isal"):
            level = min(level, 3)
        return level

    def encoder(self, level: int | None = None) -> s3po.Encoder:
        """Return a streaming compressor."""
        return _Encoder(self.module, self._level(level))

    def decoder(self) -> s3po.Decoder:
        """Return a streaming decompressor."""
        return _Decoder(self.module)

    def parse_index(self, tail: bytes, stored_size: int) -> FrameIndex | tuple[int, int] | None:
        """Parse seekable gzip's index at the end of ``tail`` (None for plain gzip).

        See :meth:`s3po.frames.FramedCodec.parse_index`.

        .. versionadded:: 0.4.0
        """
        return parse_gzip_index(tail, stored_size)

    def decode_frame(self, raw: bytes, frame: Frame) -> bytes:
        """Decode one member, checked by its CRC32 and the index's size.

        .. versionadded:: 0.4.0
        """
        return decode_member(self.module, raw, frame)


class SeekableGzipCodec(GzipCodec):
    """gzip as independent members of ``member_size`` bytes of content (1 MiB), indexed.

    Registered as ``gzip-seekable``; its Content-Encoding token is ``gzip``, so any gzip
    reader decodes what it writes. A read of ``n`` bytes at any offset needs the index and
    the members holding those bytes. Each member starts with an empty window, so smaller
    members make seeks cheaper and compression a little worse.

    .. versionadded:: 0.4.0
    """

    def __init__(self, member_size: int = 1024 * 1024) -> None:
        """Cut members of ``member_size`` bytes of content (at most 1 GiB)."""
        super().__init__()
        if not 0 < member_size <= MAX_MEMBER:
            raise s3po.ConfigError(f"member_size must be 1 byte to 1 GiB, not {member_size}")
        self.member_size = member_size

    def encoder(self, level: int | None = None) -> s3po.Encoder:
        """Return a compressor writing independent members, then the index."""
        return SeekableGzipEncoder(self.module, self._level(level), self.member_size)


@s3po.hookimpl
def s3po_register_codecs(registry: s3po.CodecRegistry) -> None:
    """Register ``gzip``, the ``x-gzip`` alias HTTP allows, and ``gzip-seekable``."""
    registry.register("gzip", GzipCodec)
    registry.register("x-gzip", GzipCodec)
    registry.register("gzip-seekable", SeekableGzipCodec)
