"""The ``gzip`` codec, using the fastest installed implementation.

python-isal (ISA-L, several times faster than zlib) when installed, else zlib-ng's Python
binding, else the standard library's zlib. All write the standard gzip format that
``gzip -d`` and every HTTP client read; decoding accepts concatenated gzip members.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import importlib
import zlib
from types import ModuleType
from typing import Any

import s3po

__all__ = ["GzipCodec", "s3po_register_codecs"]

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

    def encoder(self, level: int | None = None) -> s3po.Encoder:
        """Return a streaming compressor."""
        if level is None:
            level = 1 if self.module is not zlib else 6
        if self.module.__name__.startswith("isal"):
            level = min(level, 3)
        return _Encoder(self.module, level)

    def decoder(self) -> s3po.Decoder:
        """Return a streaming decompressor."""
        return _Decoder(self.module)


@s3po.hookimpl
def s3po_register_codecs(registry: s3po.CodecRegistry) -> None:
    """Register ``gzip`` (and the ``x-gzip`` alias HTTP allows)."""
    registry.register("gzip", GzipCodec)
    registry.register("x-gzip", GzipCodec)
