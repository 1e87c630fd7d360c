"""Seekable gzip: members of a fixed content size, then an index any gzip reader ignores.

The body is a run of independent gzip members (RFC 1952), each holding ``member_size``
bytes of content (the last one less), so every gzip reader (``gzip -d``, Python's ``gzip``,
zlib with ``16 + MAX_WBITS`` across members, HTTP clients) decodes it whole. After them
come empty members (no content: an empty DEFLATE block, CRC32 0, ISIZE 0) whose FEXTRA
header field carries the index in a subfield with ID ``s3`` (RFC 1952 section 2.3.1.1):

- entry members: payload ``b"I"`` then, per data member, its stored size and its content
  size as little-endian u32 (at most 8,191 entries a member, to fit FEXTRA's 64 KiB);
- one footer member, last in the object and always 47 bytes long: payload ``b"F"``, then
  the offset where the entry members start (u64), the content size (u64) and the number of
  data members (u32).

A reader reads the footer from the object's tail, then the entry members before it.
Each member's own CRC32 and ISIZE check its content when it is decoded.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING, Any

import s3po
from s3po.frames import Frame, FrameIndex

if TYPE_CHECKING:
    from types import ModuleType

__all__ = [
    "FOOTER_SIZE",
    "MAX_MEMBER",
    "SeekableGzipEncoder",
    "decode_member",
    "parse_gzip_index",
]

_WBITS = 16 + 15
#: The subfield ID of s3po's index in a member's FEXTRA field.
_SUBFIELD = b"s3"
#: ID1 ID2 CM FLG (FEXTRA) MTIME XFL OS (unknown).
_HEADER = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff"
#: An empty DEFLATE stream, then CRC32 and ISIZE of no content.
_EMPTY_TAIL = b"\x03\x00" + b"\x00" * 8
_FOOTER_PAYLOAD = struct.Struct("<cQQI")
_ENTRY = struct.Struct("<II")
#: Entries in one member: FEXTRA holds at most 65,535 bytes, less the subfield header
#: (4) and the payload's kind byte (1).
_PER_MEMBER = (0xFFFF - 4 - 1) // _ENTRY.size
#: Bytes around an index member's payload: header, XLEN, subfield ID and LEN, tail.
_OVERHEAD = len(_HEADER) + 2 + 4 + len(_EMPTY_TAIL)
#: The footer member's size.
FOOTER_SIZE = _OVERHEAD + _FOOTER_PAYLOAD.size
#: The largest member content the index can describe (u32 sizes; 1 GiB, as for zstd).
MAX_MEMBER = 1 << 30


def _member(payload: bytes) -> bytes:
    """An empty gzip member whose FEXTRA field holds ``payload`` in the ``s3`` subfield."""
    subfield = _SUBFIELD + struct.pack("<H", len(payload)) + payload
    return _HEADER + struct.pack("<H", len(subfield)) + subfield + _EMPTY_TAIL


def _payload(member: bytes | memoryview) -> bytes | None:
    """The ``s3`` payload of an index member exactly as :func:`_member` writes it, or None."""
    head = len(_HEADER)
    if len(member) < _OVERHEAD or bytes(member[:head]) != _HEADER:
        return None
    if bytes(member[-len(_EMPTY_TAIL) :]) != _EMPTY_TAIL:
        return None
    (xlen,) = struct.unpack_from("<H", member, head)
    sub_id = bytes(member[head + 2 : head + 4])
    (length,) = struct.unpack_from("<H", member, head + 4)
    if sub_id != _SUBFIELD or xlen != length + 4 or len(member) != _OVERHEAD + length:
        return None
    return bytes(member[head + 6 : head + 6 + length])


class SeekableGzipEncoder:
    """Cuts the content into gzip members of ``member_size`` bytes; writes the index last."""

    def __init__(self, module: ModuleType, level: int, member_size: int) -> None:
        """Compress with ``module`` (zlib or a faster drop-in) at ``level``."""
        self._module = module
        self._level = level
        self._member_size = member_size
        self._pending = bytearray()
        self._entries: list[bytes] = []
        self._stored = 0
        self._decoded = 0

    def encode(self, data: bytes) -> bytes:
        """Return the members completed by ``data``."""
        self._pending += data
        out = []
        while len(self._pending) >= self._member_size:
            out.append(self._compress(bytes(self._pending[: self._member_size])))
            del self._pending[: self._member_size]
        return b"".join(out)

    def flush(self) -> bytes:
        """Return the last member, the entry members and the footer."""
        last = self._compress(bytes(self._pending)) if self._pending else b""
        self._pending.clear()
        count = len(self._entries)
        index = [
            _member(b"I" + b"".join(self._entries[i : i + _PER_MEMBER]))
            for i in range(0, count, _PER_MEMBER)
        ]
        footer = _member(_FOOTER_PAYLOAD.pack(b"F", self._stored, self._decoded, count))
        return last + b"".join(index) + footer

    def _compress(self, content: bytes) -> bytes:
        c: Any = self._module.compressobj(self._level, self._module.DEFLATED, _WBITS)
        member: bytes = c.compress(content) + c.flush()
        self._entries.append(_ENTRY.pack(len(member), len(content)))
        self._stored += len(member)
        self._decoded += len(content)
        return member


def parse_gzip_index(tail: bytes, stored_size: int) -> FrameIndex | tuple[int, int] | None:
    """Parse seekable gzip's index at the end of ``tail``, the last bytes of the object.

    Returns the members as frames; ``(start, end)``, the range to parse instead, if
    ``tail`` does not reach back to the first entry member; None for a plain gzip object
    (no footer member at its end).

    Raises:
        CorruptData: The footer is there, but the index is damaged, truncated, or does
            not add up to the object.

    .. versionadded:: 0.4.0
    """
    if len(tail) < FOOTER_SIZE or stored_size < FOOTER_SIZE:
        return None
    footer = _payload(memoryview(tail)[-FOOTER_SIZE:])
    if footer is None or len(footer) != _FOOTER_PAYLOAD.size or footer[:1] != b"F":
        return None
    _, index_at, decoded_size, count = _FOOTER_PAYLOAD.unpack(footer)
    index_end = stored_size - FOOTER_SIZE
    members = -(-count // _PER_MEMBER)
    expected = count * _ENTRY.size + members * (_OVERHEAD + 1)
    if index_at > index_end or index_end - index_at != expected:
        raise s3po.CorruptData(
            f"the gzip index footer says {count} members indexed from byte {index_at}, "
            f"which does not fit the {stored_size}-byte object (damaged or truncated index)"
        )
    if stored_size - index_at > len(tail):
        return (index_at, stored_size)
    view = memoryview(tail)[len(tail) - (stored_size - index_at) :]
    frames: list[Frame] = []
    offset = decoded = 0
    at = 0
    for m in range(members):
        n = min(_PER_MEMBER, count - m * _PER_MEMBER)
        size = _OVERHEAD + 1 + n * _ENTRY.size
        payload = _payload(view[at : at + size])
        if payload is None or payload[:1] != b"I":
            raise s3po.CorruptData(f"gzip index member {m} is damaged")
        for i in range(n):
            stored, content = _ENTRY.unpack_from(payload, 1 + i * _ENTRY.size)
            frames.append(Frame(offset, stored, decoded, content))
            offset += stored
            decoded += content
        at += size
    if offset != index_at or decoded != decoded_size:
        raise s3po.CorruptData(
            f"the gzip index's members add up to {offset} stored and {decoded} decoded "
            f"bytes; its footer says {index_at} and {decoded_size} (damaged index)"
        )
    return FrameIndex(tuple(frames))


def decode_member(module: ModuleType, raw: bytes, frame: Frame) -> bytes:
    """Decode one gzip member, checked by its CRC32 and against the index's size.

    Raises:
        CorruptData: It is not one whole valid gzip member of the indexed size.

    .. versionadded:: 0.4.0
    """
    where = f"gzip member at byte {frame.offset}"
    d: Any = module.decompressobj(_WBITS)
    try:
        data: bytes = d.decompress(raw)
    except (module.error, zlib.error) as exc:
        raise s3po.CorruptData(f"the {where} is not valid gzip: {exc}") from exc
    if not d.eof or d.unused_data:
        raise s3po.CorruptData(f"the {where} does not end where the gzip index says")
    if len(data) != frame.decoded_size:
        raise s3po.CorruptData(
            f"the {where} decodes to {len(data)} bytes; the gzip index says {frame.decoded_size}"
        )
    return data
