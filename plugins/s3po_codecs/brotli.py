"""The ``br`` codec (Brotli, RFC 7932).

Needs ``brotli`` (``pip install 's3po[brotli]'``).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import Any

import s3po

__all__ = ["BrotliCodec", "s3po_register_codecs"]

_STEP = 1024 * 1024
_SLICE = 64  # input per call for brotli before 1.2, which has no output limit
_UNLIMITED = 1 << 62


class _Encoder:
    def __init__(self, brotli: Any, quality: int) -> None:  # noqa: ANN401
        self._c = brotli.Compressor(quality=quality)

    def encode(self, data: bytes) -> bytes:
        return self._c.process(data)  # type: ignore[no-any-return]

    def flush(self) -> bytes:
        return self._c.finish()  # type: ignore[no-any-return]


class _Decoder:
    """Bounded brotli decoding (``output_buffer_limit``, brotli 1.2 and later).

    Older brotli has no output limit; then input is fed in slices of 64 bytes, which
    bounds memory in practice but not for every crafted body: install brotli 1.2 or later.
    """

    def __init__(self, brotli: Any) -> None:  # noqa: ANN401
        self._b = brotli
        self._d = brotli.Decompressor()
        self._limited = hasattr(self._d, "can_accept_more_data")
        self._started = False
        self._input = b""
        self._pos = 0
        self._held = bytearray()  # output beyond what the last call could return

    @property
    def needs_input(self) -> bool:
        return (
            self._pos >= len(self._input)
            and not self._held
            and (not self._limited or self._d.can_accept_more_data())
        )

    def decode(self, data: bytes, max_length: int = -1) -> bytes:
        if data:
            self._started = True
            self._input = self._input[self._pos :] + data if self._pos < len(self._input) else data
            self._pos = 0
        budget = _UNLIMITED if max_length < 0 else max_length
        out = self._held[:budget]
        del self._held[:budget]
        try:
            while len(out) < budget:
                room = budget - len(out)
                if not self._limited:
                    piece = self._input[self._pos : self._pos + _SLICE]
                    if not piece:
                        break
                    self._pos += len(piece)
                    chunk = self._d.process(piece)
                else:
                    piece = b""
                    if self._d.can_accept_more_data():
                        piece = self._input[self._pos :]
                        self._input, self._pos = b"", 0
                    if not piece and (not self._started or self._d.is_finished()):
                        break
                    chunk = self._d.process(piece, output_buffer_limit=min(room, _STEP))
                    if not chunk and not piece:
                        break
                out += chunk[:room]
                self._held += chunk[room:]
        except self._b.error as exc:
            raise s3po.CorruptData(f"the body is not valid brotli: {exc}") from exc
        return bytes(out)

    def flush(self) -> bytes:
        rest = self.decode(b"")
        if self._started and not self._d.is_finished():
            raise s3po.CorruptData("the brotli body ended early (truncated)")
        return rest


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
