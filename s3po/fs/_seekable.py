"""Reading the zstd seekable format: the seek table, then only the frames a read needs.

The format (zstd ``contrib/seekable_format``) is a run of independent zstd frames followed
by a skippable frame holding the seek table: one entry per frame (compressed size,
decompressed size and, with the checksum flag, the low 32 bits of the XXH64 of the frame's
content), then a 9-byte footer (number of frames, descriptor, magic ``0x8F92EAB1``). Any
zstd reader decodes such an object as concatenated frames; this module uses the table to
fetch the frames holding a range of the content with one ranged GET.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import xxhash

from s3po.errors import CorruptData

if TYPE_CHECKING:
    from s3po.client import Calls

__all__ = ["FOOTER_SIZE", "SEEKABLE_MAGIC", "Frame", "SeekTable", "parse_seek_table"]

#: The last four bytes of a seekable zstd object.
SEEKABLE_MAGIC = 0x8F92EAB1
#: The seek table's footer: number of frames, descriptor, magic.
FOOTER_SIZE = 9
#: The skippable frame's magic and size fields before the entries.
_FRAME_HEADER = 8
_SKIPPABLE_MAGIC = 0x184D2A5E
_CHECKSUM_FLAG = 0x80
#: An entry's size with and without the checksum.
_ENTRY, _ENTRY_WITH_CHECKSUM = 8, 12
_RESERVED_BITS = 0x7C
#: Bytes read from the end of the object at first: the footer and, mostly, the whole table
#: (5,000 frames of 12-byte entries).
_TAIL = 64 * 1024


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame of a seekable zstd object.

    Attributes:
        offset: Where the frame starts in the stored object.
        size: Its stored (compressed) size.
        decoded_offset: Where its content starts in the decoded content.
        decoded_size: Its content's size.
        checksum: The low 32 bits of the XXH64 of its content, if the table has them.

    .. versionadded:: 0.4.0
    """

    offset: int
    size: int
    decoded_offset: int
    decoded_size: int
    checksum: int | None


@dataclass(frozen=True, slots=True)
class SeekTable:
    """The frames of a seekable zstd object, in order.

    .. versionadded:: 0.4.0
    """

    frames: tuple[Frame, ...]

    @property
    def size(self) -> int:
        """The decoded size of the whole content."""
        if not self.frames:
            return 0
        last = self.frames[-1]
        return last.decoded_offset + last.decoded_size

    def frame_at(self, pos: int) -> int | None:
        """The index of the frame holding decoded byte ``pos`` (None past the end)."""
        if pos < 0 or pos >= self.size:
            return None
        starts = [f.decoded_offset for f in self.frames]
        index = bisect.bisect_right(starts, pos) - 1
        while self.frames[index].decoded_size == 0:  # empty frames hold nothing
            index += 1
        return index

    def fetch(
        self, conn: Calls, bucket: str, key: str, first: int, last: int, etag: str
    ) -> list[tuple[int, bytes]]:
        """Frames ``first`` to ``last`` decoded, fetched with one ranged GET pinned to ``etag``.

        Raises:
            CorruptData: A frame does not decode, or its content does not match the
                table's size or checksum.
        """
        import zstandard  # noqa: PLC0415 - only needed by seekable reads

        start = self.frames[first].offset
        end = self.frames[last].offset + self.frames[last].size
        with conn.open(bucket, key, start=start, end=end, if_match=etag) as got:
            stored = got.body.readall()
        out = []
        for index in range(first, last + 1):
            frame = self.frames[index]
            raw = stored[frame.offset - start : frame.offset - start + frame.size]
            out.append((index, _decode(zstandard, raw, frame, bucket, key)))
        return out


def _decode(zstandard: Any, raw: bytes, frame: Frame, bucket: str, key: str) -> bytes:  # noqa: ANN401
    where = f"frame at byte {frame.offset} of s3po://{bucket}/{key}"
    try:
        data: bytes = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    except zstandard.ZstdError as exc:
        raise CorruptData(f"the {where} is not valid zstd: {exc}", bucket=bucket, key=key) from exc
    if len(data) != frame.decoded_size:
        raise CorruptData(
            f"the {where} decodes to {len(data)} bytes; its seek table says {frame.decoded_size}",
            bucket=bucket,
            key=key,
        )
    if frame.checksum is not None and xxhash.xxh64_intdigest(data) & 0xFFFFFFFF != frame.checksum:
        raise CorruptData(
            f"the {where} does not match its seek table's checksum", bucket=bucket, key=key
        )
    return data


def parse_seek_table(tail: bytes, stored_size: int) -> SeekTable | tuple[int, int] | None:
    """Parse the seek table at the end of ``tail``, the last bytes of an object.

    Returns the table; or, if ``tail`` is too short to hold it, ``(start, end)``: the range
    of the object to parse instead; or None if the object is not in the seekable format.

    Raises:
        CorruptData: The footer is there but the table is inconsistent with the object.

    .. versionadded:: 0.4.0
    """
    if len(tail) < FOOTER_SIZE:
        return None
    count, descriptor, magic = struct.unpack_from("<IBI", tail, len(tail) - FOOTER_SIZE)
    if magic != SEEKABLE_MAGIC or descriptor & _RESERVED_BITS:
        return None
    entry = _ENTRY_WITH_CHECKSUM if descriptor & _CHECKSUM_FLAG else _ENTRY
    frame_size = count * entry + FOOTER_SIZE
    total = _FRAME_HEADER + frame_size
    if total > stored_size:
        raise CorruptData(f"the seek table claims {count} frames, more than the object holds")
    if total > len(tail):
        return (stored_size - total, stored_size)
    base = len(tail) - total
    skip_magic, size_field = struct.unpack_from("<II", tail, base)
    if skip_magic != _SKIPPABLE_MAGIC or size_field != frame_size:
        raise CorruptData("the seek table's skippable frame header is wrong")
    frames = []
    offset = decoded = 0
    for i in range(count):
        at = base + _FRAME_HEADER + i * entry
        size, decoded_size = struct.unpack_from("<II", tail, at)
        checksum = struct.unpack_from("<I", tail, at + 8)[0] if entry > _ENTRY else None
        frames.append(Frame(offset, size, decoded, decoded_size, checksum))
        offset += size
        decoded += decoded_size
    if offset != stored_size - total:
        raise CorruptData(
            f"the seek table's frames add up to {offset} bytes; the object holds "
            f"{stored_size - total} before the table"
        )
    return SeekTable(tuple(frames))


def read_seek_table(
    conn: Calls, bucket: str, key: str, stored_size: int, etag: str
) -> SeekTable | None:
    """Fetch and parse the seek table of a zstd object (None if it has none).

    One ranged GET of the last 64 KiB, and a second one only for a larger table.

    .. versionadded:: 0.4.0
    """
    if stored_size < _FRAME_HEADER + FOOTER_SIZE:
        return None
    start = max(0, stored_size - _TAIL)
    try:
        with conn.open(bucket, key, start=start, end=stored_size, if_match=etag) as got:
            parsed = parse_seek_table(got.body.readall(), stored_size)
        if isinstance(parsed, tuple):
            with conn.open(bucket, key, start=parsed[0], end=parsed[1], if_match=etag) as got:
                parsed = parse_seek_table(got.body.readall(), stored_size)
    except CorruptData as exc:
        raise CorruptData(f"s3po://{bucket}/{key}: {exc}", bucket=bucket, key=key) from exc
    # The second range holds the whole table, so it parses to a table (or to None).
    return parsed if isinstance(parsed, SeekTable) else None
