"""The ``zstd`` codec (Zstandard, RFC 8878), multi-threaded on upload; and ``zstd-seekable``.

Needs ``zstandard`` (``pip install 's3po[zstd]'``). Decoding accepts several concatenated
frames, as the format allows, and skips skippable frames.

``zstd-seekable`` writes zstd's seekable format (zstd ``contrib/seekable_format``):
independent frames of a fixed content size, then a skippable frame holding the seek table.
Its Content-Encoding is ``zstd``: any zstd reader decodes it whole. The ``zstd`` codec
reads the table (it is a :class:`~s3po.frames.FramedCodec`), so
:class:`~s3po.fs.S3poFileSystem` reads only the frames a seek needs and a whole download
decodes the frames in parallel.

.. versionadded:: 0.1.0
.. versionchanged:: 0.4.0
   ``zstd-seekable``.
"""

from __future__ import annotations

import os
import struct
from typing import Any

import xxhash

import s3po
from s3po.frames import Frame, FrameIndex

__all__ = ["SeekableZstdCodec", "ZstdCodec", "parse_seek_table", "s3po_register_codecs"]


class _Encoder:
    def __init__(self, compressor: Any) -> None:  # noqa: ANN401
        self._c = compressor.compressobj()

    def encode(self, data: bytes) -> bytes:
        return self._c.compress(data)  # type: ignore[no-any-return]

    def flush(self) -> bytes:
        return self._c.flush()  # type: ignore[no-any-return]


_MAGIC = b"\x28\xb5\x2f\xfd"
_SKIPPABLE = b"\x50\x2a\x4d\x18"  # 0x184D2A5?, little-endian: any low nibble
_BLOCK_MAX = 128 * 1024  # no block decodes to more (RFC 8878, Block_Maximum_Size)
_UNLIMITED = 1 << 62

# What the next bytes of the body are.
_FRAME_MAGIC, _SKIP_SIZE, _SKIP_BODY, _FHD, _FRAME_HEADER = range(5)
_BLOCK_HEADER, _BLOCK_BODY, _CHECKSUM, _OPAQUE = range(5, 9)
_HEADERS = (_FRAME_MAGIC, _SKIP_SIZE, _FHD, _FRAME_HEADER, _BLOCK_HEADER)
_RAW, _RLE, _COMPRESSED = 0, 1, 2


class _Frames:
    """Follows a zstd body frame by frame and block by block (RFC 8878 section 3.1).

    zstandard's streaming decoder has no output limit, but a block never decodes to more
    than 128 KiB; feeding it whole blocks up to a budget bounds each call's output. This
    only reads headers; zstandard still checks everything. Bytes it cannot follow (not a
    zstd frame) are fed as they are, and zstandard reports them.
    """

    def __init__(self) -> None:
        self.state = _FRAME_MAGIC
        self.need = 4  # bytes left in the current part
        self.header = bytearray()
        self._checksum = False
        self._last = False
        self._kind = _RAW
        self._block_size = 0

    @property
    def at_boundary(self) -> bool:
        """Between frames (nothing of a frame has been seen, or the last one ended)."""
        return self.state == _FRAME_MAGIC and not self.header

    def plan(self, data: memoryview, budget: int, *, must_progress: bool) -> tuple[int, bool]:
        """Return how many bytes of ``data`` to feed, and whether they end a frame.

        The bytes fed decode to at most ``budget`` bytes, or to one block if
        ``must_progress`` and the next block alone is larger.
        """
        pos, spent = 0, 0
        while pos < len(data):
            if self.state == _OPAQUE:
                return len(data), False
            take = min(self.need, len(data) - pos)
            if self.state == _BLOCK_BODY and self._kind == _RAW:
                take = min(take, budget - spent)  # stored bytes: output is input
                if take <= 0:
                    return pos, False
                spent += take
            elif self.state == _BLOCK_BODY and take == self.need:
                cost = self._block_size if self._kind == _RLE else _BLOCK_MAX
                if spent + cost > budget and (spent or not must_progress):
                    # Feed all of the block but its last byte; it completes next time.
                    pos += take - 1
                    self.need -= take - 1
                    return pos, False
                spent += cost
            elif self.state in _HEADERS:
                self.header += data[pos : pos + take]
            pos += take
            self.need -= take
            if self.need:
                break
            if self._advance():
                return pos, True
        return pos, False

    def _advance(self) -> bool:  # noqa: C901, PLR0911, PLR0912 - one branch per part of the format
        """The current part is complete: move to the next; True when a frame ended."""
        header, state = bytes(self.header), self.state
        self.header.clear()
        if state == _FRAME_MAGIC:
            if header == _MAGIC:
                self.state, self.need = _FHD, 1
            elif header[0] & 0xF0 == _SKIPPABLE[0] and header[1:] == _SKIPPABLE[1:]:
                self.state, self.need = _SKIP_SIZE, 4
            else:
                self.state = _OPAQUE
        elif state == _SKIP_SIZE:
            self.state, self.need = _SKIP_BODY, int.from_bytes(header, "little")
            if not self.need:
                return self._frame_ended()
        elif state == _SKIP_BODY:
            return self._frame_ended()
        elif state == _FHD:
            fhd = header[0]
            single = bool(fhd & 0x20)
            self._checksum = bool(fhd & 0x04)
            fcs = (1 if single else 0, 2, 4, 8)[fhd >> 6]
            rest = (0 if single else 1) + (0, 1, 2, 4)[fhd & 0x03] + fcs
            self.state, self.need = _FRAME_HEADER, rest
            if not rest:
                self.state, self.need = _BLOCK_HEADER, 3
        elif state == _FRAME_HEADER:
            self.state, self.need = _BLOCK_HEADER, 3
        elif state == _BLOCK_HEADER:
            value = int.from_bytes(header, "little")
            self._last = bool(value & 1)
            self._kind = (value >> 1) & 3
            self._block_size = value >> 3
            if self._kind > _COMPRESSED:
                self.state = _OPAQUE
                return False
            self.state = _BLOCK_BODY
            self.need = 1 if self._kind == _RLE else self._block_size
            if not self.need:
                return self._block_ended()
        elif state == _BLOCK_BODY:
            return self._block_ended()
        elif state == _CHECKSUM:
            return self._frame_ended()
        return False

    def _block_ended(self) -> bool:
        if not self._last:
            self.state, self.need = _BLOCK_HEADER, 3
            return False
        if self._checksum:
            self.state, self.need = _CHECKSUM, 4
            return False
        return self._frame_ended()

    def _frame_ended(self) -> bool:
        self.state, self.need = _FRAME_MAGIC, 4
        return True


class _Decoder:
    """Bounded zstd decoding, frame after frame; output per call at most ``max_length``."""

    def __init__(self, zstandard: Any) -> None:  # noqa: ANN401
        self._z = zstandard
        self._d: Any = None  # the current frame's decompressor
        self._frames = _Frames()
        self._input = b""
        self._pos = 0
        self._held = bytearray()  # output beyond what the last call could return

    @property
    def needs_input(self) -> bool:
        return self._pos >= len(self._input) and not self._held

    def decode(self, data: bytes, max_length: int = -1) -> bytes:
        if data:
            self._input = self._input[self._pos :] + data if self._pos < len(self._input) else data
            self._pos = 0
        budget = _UNLIMITED if max_length < 0 else max_length
        out = self._held[:budget]
        del self._held[:budget]
        view = memoryview(self._input)
        try:
            while len(out) < budget and self._pos < len(view):
                n, frame_ended = self._frames.plan(
                    view[self._pos :], budget - len(out), must_progress=not out
                )
                if not n:
                    break
                if self._d is None:
                    self._d = self._z.ZstdDecompressor().decompressobj()
                chunk = self._d.decompress(view[self._pos : self._pos + n])
                self._pos += n
                room = budget - len(out)
                out += chunk[:room]
                self._held += chunk[room:]
                if frame_ended != bool(self._d.eof) or self._d.unused_data:
                    raise s3po.CorruptData("the body is not valid zstd: a frame ends wrongly")
                if frame_ended:
                    self._d = None
        except self._z.ZstdError as exc:
            raise s3po.CorruptData(f"the body is not valid zstd: {exc}") from exc
        finally:
            view.release()
        if self._pos >= len(self._input):
            self._input, self._pos = b"", 0
        return bytes(out)

    def flush(self) -> bytes:
        rest = self.decode(b"")
        if not self._frames.at_boundary or self._d is not None:
            raise s3po.CorruptData("the zstd body ended before its last frame did (truncated)")
        return rest


class ZstdCodec:
    """Zstandard, level 1 to 22, using up to ``threads`` cores to compress.

    The default level is 1: fast, and within a few per cent of level 3's ratio on text.

    .. versionadded:: 0.1.0
    """

    name = "zstd"

    def __init__(self, threads: int | None = None) -> None:
        """Compress with ``threads`` worker threads (default: all cores)."""
        try:
            import zstandard  # noqa: PLC0415 - imported when the codec is first used
        except ImportError as exc:
            raise s3po.UnknownCodec(
                f"codec 'zstd' needs the zstandard package, which is not installed ({exc}); "
                "pip install 's3po[zstd]'"
            ) from exc

        self._z = zstandard
        self.threads = threads if threads is not None else (os.cpu_count() or 1)

    def encoder(self, level: int | None = None) -> s3po.Encoder:
        """Return a streaming compressor."""
        compressor = self._z.ZstdCompressor(
            level=1 if level is None else level,
            threads=self.threads if self.threads > 1 else 0,
            write_checksum=True,
        )
        return _Encoder(compressor)

    def decoder(self) -> s3po.Decoder:
        """Return a streaming decompressor."""
        return _Decoder(self._z)

    def parse_index(self, tail: bytes, stored_size: int) -> FrameIndex | tuple[int, int] | None:
        """Parse the seek table of the seekable format at the end of ``tail``.

        See :meth:`s3po.frames.FramedCodec.parse_index`; None for plain zstd.

        .. versionadded:: 0.4.0
        """
        return parse_seek_table(tail, stored_size)

    def decode_frame(self, raw: bytes, frame: Frame) -> bytes:
        """Decode one frame, checked against the seek table's size and checksum.

        .. versionadded:: 0.4.0
        """
        where = f"zstd frame at byte {frame.offset}"
        try:
            if frame.decoded_size:
                # One call, bounded by the size the table gives: several times faster than
                # a streaming decompressor; a frame that decodes to more is an error.
                data: bytes = self._z.ZstdDecompressor().decompress(
                    raw, max_output_size=frame.decoded_size
                )
            else:
                data = self._z.ZstdDecompressor().decompressobj().decompress(raw)
        except self._z.ZstdError as exc:
            raise s3po.CorruptData(f"the {where} is not valid zstd: {exc}") from exc
        if len(data) != frame.decoded_size:
            raise s3po.CorruptData(
                f"the {where} decodes to {len(data)} bytes; its seek table says "
                f"{frame.decoded_size}"
            )
        if frame.checksum is not None and _low_xxh64(data) != frame.checksum:
            raise s3po.CorruptData(f"the {where} does not match its seek table's checksum")
        return data


def _low_xxh64(data: bytes) -> int:
    return xxhash.xxh64_intdigest(data) & 0xFFFFFFFF


#: The seek table's skippable frame magic, and the magic that ends a seekable object.
_SEEK_TABLE_MAGIC = 0x184D2A5E
_SEEKABLE_MAGIC = 0x8F92EAB1
#: Seek table descriptor: every entry carries a checksum of its frame's content.
_CHECKSUM_FLAG = 0x80
_RESERVED_BITS = 0x7C
#: The format's limit on one frame's content (1 GiB).
_MAX_FRAME = 0x40000000
#: The seek table's footer (frames, descriptor, magic); the skippable frame's header.
_FOOTER, _SKIP_HEADER = 9, 8
#: An entry's size without and with the checksum.
_ENTRY, _ENTRY_WITH_CHECKSUM = 8, 12


def parse_seek_table(tail: bytes, stored_size: int) -> FrameIndex | tuple[int, int] | None:
    """Parse the seek table at the end of ``tail``, the last bytes of a zstd object.

    Returns the frames; or, if ``tail`` is too short to hold the table, ``(start, end)``:
    the range of the object to parse instead; or None if the object is not in the
    seekable format.

    Raises:
        CorruptData: The footer is there but the table is inconsistent with the object.

    .. versionadded:: 0.4.0
    """
    if len(tail) < _FOOTER:
        return None
    count, descriptor, magic = struct.unpack_from("<IBI", tail, len(tail) - _FOOTER)
    if magic != _SEEKABLE_MAGIC or descriptor & _RESERVED_BITS:
        return None
    entry = _ENTRY_WITH_CHECKSUM if descriptor & _CHECKSUM_FLAG else _ENTRY
    frame_size = count * entry + _FOOTER
    total = _SKIP_HEADER + frame_size
    if total > stored_size:
        raise s3po.CorruptData(f"the seek table claims {count} frames, more than the object holds")
    if total > len(tail):
        return (stored_size - total, stored_size)
    base = len(tail) - total
    skip_magic, size_field = struct.unpack_from("<II", tail, base)
    if skip_magic != _SEEK_TABLE_MAGIC or size_field != frame_size:
        raise s3po.CorruptData("the seek table's skippable frame header is wrong")
    frames = []
    offset = decoded = 0
    for i in range(count):
        at = base + _SKIP_HEADER + i * entry
        size, decoded_size = struct.unpack_from("<II", tail, at)
        checksum = struct.unpack_from("<I", tail, at + 8)[0] if entry > _ENTRY else None
        frames.append(Frame(offset, size, decoded, decoded_size, checksum))
        offset += size
        decoded += decoded_size
    if offset != stored_size - total:
        raise s3po.CorruptData(
            f"the seek table's frames add up to {offset} bytes; the object holds "
            f"{stored_size - total} before the table"
        )
    return FrameIndex(tuple(frames))


class _SeekableEncoder:
    """Cuts the content into frames of ``frame_size`` bytes; writes the seek table last."""

    def __init__(self, compressor: Any, frame_size: int) -> None:  # noqa: ANN401
        self._c = compressor
        self._frame_size = frame_size
        self._pending = bytearray()
        self._entries: list[bytes] = []

    def encode(self, data: bytes) -> bytes:
        self._pending += data
        out = []
        while len(self._pending) >= self._frame_size:
            out.append(self._frame(bytes(self._pending[: self._frame_size])))
            del self._pending[: self._frame_size]
        return b"".join(out)

    def flush(self) -> bytes:
        last = self._frame(bytes(self._pending)) if self._pending else b""
        self._pending.clear()
        entries = b"".join(self._entries)
        footer = struct.pack("<IBI", len(self._entries), _CHECKSUM_FLAG, _SEEKABLE_MAGIC)
        body = entries + footer
        return last + struct.pack("<II", _SEEK_TABLE_MAGIC, len(body)) + body

    def _frame(self, content: bytes) -> bytes:
        frame: bytes = self._c.compress(content)
        checksum = _low_xxh64(content)
        self._entries.append(struct.pack("<III", len(frame), len(content), checksum))
        return frame


class SeekableZstdCodec(ZstdCodec):
    """Zstandard in the seekable format: frames of ``frame_size`` bytes of content (1 MiB).

    Registered as ``zstd-seekable``; its Content-Encoding token is ``zstd``, so any zstd
    reader decodes what it writes. A read of ``n`` bytes at any offset needs the seek table
    and the frames holding those bytes. Smaller frames make seeks cheaper and compression
    a little worse (each frame starts with an empty window); 1 MiB frames store text about
    1 % larger than one frame.

    .. versionadded:: 0.4.0
    """

    name = "zstd"

    def __init__(self, threads: int | None = None, frame_size: int = 1024 * 1024) -> None:
        """Cut frames of ``frame_size`` bytes of content (at most 1 GiB)."""
        super().__init__(threads)
        if not 0 < frame_size <= _MAX_FRAME:
            raise s3po.ConfigError(f"frame_size must be 1 byte to 1 GiB, not {frame_size}")
        self.frame_size = frame_size

    def encoder(self, level: int | None = None) -> s3po.Encoder:
        """Return a compressor writing independent frames, then the seek table."""
        compressor = self._z.ZstdCompressor(
            level=1 if level is None else level, write_checksum=True, write_content_size=True
        )
        return _SeekableEncoder(compressor, self.frame_size)


@s3po.hookimpl
def s3po_register_codecs(registry: s3po.CodecRegistry) -> None:
    """Register ``zstd`` and ``zstd-seekable``, imported on first use."""
    registry.register("zstd", "s3po_codecs.zstd:ZstdCodec", install_hint="pip install 's3po[zstd]'")
    registry.register(
        "zstd-seekable",
        "s3po_codecs.zstd:SeekableZstdCodec",
        install_hint="pip install 's3po[zstd]'",
    )
