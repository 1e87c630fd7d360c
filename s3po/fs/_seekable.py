"""Seeking in framed objects: read the frame index, then only the frames a read needs.

Seekable zstd and seekable gzip (see :mod:`s3po.frames`) store independent frames and an
index at the object's end. A file that seeks reads the index once (one ranged GET of the
tail, and a second only for a large index), then fetches the frames holding the bytes asked
for with one ranged GET pinned to the ETag, each frame checked by its codec.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from s3po.errors import CorruptData
from s3po.frames import read_index

if TYPE_CHECKING:
    from s3po.client import Calls
    from s3po.frames import FramedCodec, FrameIndex

__all__ = ["fetch_frames", "read_frame_index"]


def read_frame_index(
    conn: Calls, codec: FramedCodec, bucket: str, key: str, stored_size: int, etag: str
) -> FrameIndex | None:
    """Fetch and parse an object's frame index (None if it has none).

    Raises:
        CorruptData: The index does not match the object.

    .. versionadded:: 0.4.0
    """

    def read_range(start: int, end: int) -> bytes:
        with conn.open(bucket, key, start=start, end=end, if_match=etag or None) as got:
            data: bytes = got.body.readall()
        return data

    try:
        return read_index(codec, read_range, stored_size)
    except CorruptData as exc:
        raise CorruptData(f"s3po://{bucket}/{key}: {exc}", bucket=bucket, key=key) from exc


def fetch_frames(
    conn: Calls,
    codec: FramedCodec,
    index: FrameIndex,
    bucket: str,
    key: str,
    first: int,
    last: int,
    etag: str,
) -> list[tuple[int, bytes]]:
    """Frames ``first`` to ``last`` decoded, fetched with one ranged GET pinned to ``etag``.

    Raises:
        CorruptData: A frame does not decode, or not to what the index says.

    .. versionadded:: 0.4.0
    """
    start = index.frames[first].offset
    end = index.frames[last].end
    with conn.open(bucket, key, start=start, end=end, if_match=etag or None) as got:
        stored = got.body.readall()
    out = []
    for i in range(first, last + 1):
        frame = index.frames[i]
        raw = stored[frame.offset - start : frame.end - start]
        try:
            out.append((i, codec.decode_frame(raw, frame)))
        except CorruptData as exc:
            raise CorruptData(f"s3po://{bucket}/{key}: {exc}", bucket=bucket, key=key) from exc
    return out
