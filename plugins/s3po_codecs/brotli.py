"""The ``br`` codec (Brotli, RFC 7932).

Needs ``brotli`` (``pip install 's3po[brotli]'``).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import Any

import s3po

__all__ = ["BrotliCodec", "s3po_register_codecs"]

_STEP = 1024 * 1024


class _Encoder:
    def __init__(self, brotli: Any, quality: int) -> None:  # noqa: ANN401
        self._c = brotli.Compressor(quality=quality)

    def encode(self, data: bytes) -> bytes:
        return self._c.process(data)  # type: ignore[no-any-return]

    def flush(self) -> bytes:
        return self._c.finish()  # type: ignore[no-any-return]


class _Decoder:
    def __init__(self, brotli: Any) -> None:  # noqa: ANN401
        self._b = brotli
        self._d = brotli.Decompressor()
        self._started = False

    def decode(self, data: bytes) -> bytes:
        self._started = True
        try:
            return self._d.process(data)  # type: ignore[no-any-return]
        except self._b.error as exc:
            raise s3po.CorruptData(f"the body is not valid brotli: {exc}") from exc

    def decode_bounded(self, data: bytes, room: int) -> bytes:
        """Decode, stopping once more than ``room`` bytes came out (a bomb guard)."""
        self._started = True
        out = bytearray()
        try:
            chunk = self._d.process(data, output_buffer_limit=_STEP)
            while True:
                out += chunk
                if len(out) > room or self._d.can_accept_more_data():
                    break
                chunk = self._d.process(b"", output_buffer_limit=_STEP)
        except self._b.error as exc:
            raise s3po.CorruptData(f"the body is not valid brotli: {exc}") from exc
        return bytes(out)

    def flush(self) -> bytes:
        if self._started and not self._d.is_finished():
            raise s3po.CorruptData("the brotli body ended early (truncated)")
        return b""


class BrotliCodec:
    """Brotli, quality 0 to 11 (default 4, a fair speed for transfers).

    .. versionadded:: 0.1.0
    """

    name = "br"

    def __init__(self) -> None:
        """Import brotli."""
        try:
            import brotli  # noqa: PLC0415 - imported when the codec is first used
        except ImportError as exc:
            raise s3po.UnknownCodec(
                f"codec 'br' needs the brotli package, which is not installed ({exc}); "
                "pip install 's3po[brotli]'"
            ) from exc
        self._b = brotli

    def encoder(self, level: int | None = None) -> s3po.Encoder:
        """Return a streaming compressor."""
        return _Encoder(self._b, 4 if level is None else level)

    def decoder(self) -> s3po.Decoder:
        """Return a streaming decompressor."""
        return _Decoder(self._b)


@s3po.hookimpl
def s3po_register_codecs(registry: s3po.CodecRegistry) -> None:
    """Register ``br``, imported on first use."""
    registry.register(
        "br", "s3po_codecs.brotli:BrotliCodec", install_hint="pip install 's3po[brotli]'"
    )
