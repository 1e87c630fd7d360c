"""Framed encodings: content cut into independently decodable frames, with an index.

Some encodings store the content as a run of frames that each decode on their own, plus an
index of where each frame starts, kept where a plain reader of the format ignores it: zstd's
seekable format (a seek table in a trailing skippable frame) and s3po's seekable gzip
(fixed-size members, the index in the header of empty trailing members). Their objects
carry the plain Content-Encoding (``zstd``, ``gzip``), so every reader decodes them whole;
s3po reads the index from the object's tail with one ranged GET, then

- a file opened with :mod:`s3po.fs` fetches only the frames a read after a seek needs;
- a whole download fetches frame-aligned ranges in parallel and decodes them in parallel
  threads, each frame written at its offset (see :mod:`s3po.middleware.framed`).

A codec that can read its format's index implements :class:`FramedCodec` beside
:class:`~s3po.codecs.Codec`; the codec registered for the Content-Encoding token (``zstd``,
``gzip``) is the one asked.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from s3po.codecs import encoding_tokens
from s3po.errors import PluginError, UnknownCodec

if TYPE_CHECKING:
    from collections.abc import Callable

    from s3po.plugins import CodecRegistry

__all__ = ["INDEX_TAIL", "Frame", "FrameIndex", "FramedCodec", "framed_codec", "read_index"]

#: Bytes read from the end of an object at first: enough for the footer and, mostly, the
#: whole index (5,000 frames of 12-byte entries).
INDEX_TAIL = 64 * 1024


@dataclass(frozen=True, slots=True)
class Frame:
    """One independently decodable frame of a framed object.

    Attributes:
        offset: Where the frame starts in the stored object.
        size: Its stored (encoded) size.
        decoded_offset: Where its content starts in the decoded content.
        decoded_size: Its content's size.
        checksum: A checksum of its content the index carries (its meaning is the
            codec's), or None.

    .. versionadded:: 0.4.0
    """

    offset: int
    size: int
    decoded_offset: int
    decoded_size: int
    checksum: int | None = None

    @property
    def end(self) -> int:
        """Where the frame ends in the stored object."""
        return self.offset + self.size


@dataclass(frozen=True, slots=True)
class FrameIndex:
    """The frames of a framed object, in order.

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

    def groups(self, stored: int, decoded: int) -> list[tuple[int, int]]:
        """Split the frames into runs ``(first, last)`` of whole frames, for parallel reads.

        A run grows until it holds at least ``stored`` stored bytes or ``decoded`` decoded
        bytes; a single frame larger than either is a run of its own.
        """
        runs: list[tuple[int, int]] = []
        first, held, grew = 0, 0, 0
        for i, frame in enumerate(self.frames):
            held += frame.size
            grew += frame.decoded_size
            if held >= stored or grew >= decoded:
                runs.append((first, i))
                first, held, grew = i + 1, 0, 0
        if first < len(self.frames):
            runs.append((first, len(self.frames) - 1))
        return runs


@runtime_checkable
class FramedCodec(Protocol):
    """A codec whose format may carry a frame index, and that decodes one frame at a time.

    .. versionadded:: 0.4.0
    """

    #: The ``Content-Encoding`` token.
    name: str

    def parse_index(self, tail: bytes, stored_size: int) -> FrameIndex | tuple[int, int] | None:
        """Parse the index at the end of ``tail``, the last bytes of a stored object.

        Returns:
            The index; or ``(start, end)``, the range of the object to parse instead when
            ``tail`` is too short to hold it; or None when the object has no index (a
            plain object of the format, which is then decoded from the start).

        Raises:
            CorruptData: The index is there but does not match the object.
        """
        ...

    def decode_frame(self, raw: bytes, frame: Frame) -> bytes:
        """Decode one frame's stored bytes ``raw``, checked against what the index says.

        Raises:
            CorruptData: The bytes do not decode, or not to the size (or checksum) the
                index gives.
        """
        ...


def framed_codec(codecs: CodecRegistry, content_encoding: str | None) -> FramedCodec | None:
    """The codec that reads the frame index of an object with ``content_encoding``, or None.

    Only an object with exactly one encoding can be framed; a missing codec is None here
    (the download that needs it reports it).

    .. versionadded:: 0.4.0
    """
    tokens = encoding_tokens(content_encoding)
    if len(tokens) != 1:
        return None
    try:
        codec = codecs.get(tokens[0])
    except UnknownCodec:
        return None
    return codec if isinstance(codec, FramedCodec) else None


def read_index(
    codec: FramedCodec, read_range: Callable[[int, int], bytes], stored_size: int
) -> FrameIndex | None:
    """Fetch and parse an object's frame index (None if it has none).

    ``read_range(start, end)`` returns the stored bytes ``[start, end)``. One read of the
    last :data:`INDEX_TAIL` bytes, and a second one only for a larger index.

    Raises:
        CorruptData: The index does not match the object.

    .. versionadded:: 0.4.0
    """
    if stored_size <= 0:
        return None
    tail = read_range(max(0, stored_size - INDEX_TAIL), stored_size)
    parsed = codec.parse_index(tail, stored_size)
    if isinstance(parsed, tuple):
        start, end = parsed
        if not 0 <= start < end <= stored_size:
            raise PluginError(
                f"codec {codec.name!r} asked for bytes [{start}, {end}) of a "
                f"{stored_size}-byte object to read its frame index; report this to the "
                "codec's author"
            )
        parsed = codec.parse_index(read_range(start, end), stored_size)
    # The second range holds the whole index, so it parses to an index (or to None).
    return parsed if isinstance(parsed, FrameIndex) else None
