"""The file objects of :class:`~s3po.fs.S3poFileSystem`: ranged, decoded and written.

- :class:`RangedFile` reads an object stored as is with ranged GETs pinned to its ETag
  (fsspec's block caches on top); an object no larger than one block is read whole and
  verified against its s3po checksum.
- :class:`DecodedFile` reads an encoded object (gzip, zstd, ...) decoded, verified as it
  streams. A seek forward decodes and drops the bytes between; a seek backward reopens the
  object. A framed object (seekable zstd or seekable gzip, see :mod:`s3po.frames`) is
  read at random with ranged GETs of its frame index and of the frames a read needs.
- :class:`WriteFile` spools what is written to a temporary file (in memory up to one part)
  and uploads it on close through the Connection, so compression, multipart and retries
  are those of every s3po upload.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import io
import tempfile
from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractBufferedFile

from s3po.errors import PreconditionFailed
from s3po.frames import framed_codec
from s3po.fs._seekable import fetch_frames, read_frame_index

if TYPE_CHECKING:
    from s3po._types import GetResult
    from s3po.frames import FramedCodec, FrameIndex
    from s3po.fs._filesystem import S3poFileSystem

__all__ = ["DecodedFile", "RangedFile", "WriteFile"]

#: Bytes asked of a decoded stream per read while skipping forward.
_SKIP_STEP = 1024 * 1024


class RangedFile(AbstractBufferedFile):  # type: ignore[misc]  # fsspec is untyped
    """A read-only file over an object stored as is: ranged GETs pinned to its ETag.

    .. versionadded:: 0.4.0
    """

    def __init__(
        self,
        fs: S3poFileSystem,
        path: str,
        *,
        details: dict[str, Any],
        block_size: int | str = "default",
        cache_type: str = "readahead",
        cache_options: dict[str, Any] | None = None,
    ) -> None:
        """Open ``path``, whose ``details`` (from ``fs.info``) give its size and ETag."""
        self.bucket, self.key = fs.split_path(path)
        self.etag: str = details.get("ETag") or ""
        self._whole: bytes | None = None
        super().__init__(
            fs,
            path,
            mode="rb",
            block_size=block_size,
            cache_type=cache_type,
            cache_options=cache_options,
            size=details["size"],
        )
        self.details = details

    def _fetch_range(self, start: int, end: int) -> bytes:
        """The bytes ``[start, end)``: the whole object (verified) if it fits one block."""
        end = min(end, self.size)
        if start >= end:
            return b""
        if self.size <= self.blocksize:
            if self._whole is None:
                self._whole = self._read_whole()
            return self._whole[start:end]
        conn = self.fs.conn
        with conn.open(self.bucket, self.key, start=start, end=end, if_match=self.etag) as got:
            data: bytes = got.body.readall()
        return data

    def _read_whole(self) -> bytes:
        with self.fs.conn.open(self.bucket, self.key) as got:
            _check_same(got, self.etag, self.bucket, self.key)
            data: bytes = got.body.readall()  # verified against the s3po checksum
        return data


def _check_same(got: GetResult, etag: str, bucket: str, key: str) -> None:
    if etag and got.info.etag != etag:
        got.body.close()
        raise PreconditionFailed(
            f"s3po://{bucket}/{key} changed while it was open (ETag {etag!r} is now "
            f"{got.info.etag!r}); open it again to read the new content",
            bucket=bucket,
            key=key,
        )


class DecodedFile(io.RawIOBase):
    """A read-only file over an encoded object, decoded by its Content-Encoding.

    Attributes:
        fs: The filesystem.
        path: The object's path (``bucket/key``).
        details: What ``fs.info`` said of it.
        mode: Always ``"rb"``.

    .. versionadded:: 0.4.0
    """

    def __init__(self, fs: S3poFileSystem, path: str, *, details: dict[str, Any]) -> None:
        """Open ``path``; nothing is read until the first read."""
        super().__init__()
        self.fs = fs
        self.path = path
        self.details = details
        self.mode = "rb"
        self.bucket, self.key = fs.split_path(path)
        self._etag: str = details.get("ETag") or ""
        self._size: int | None = details.get("decoded_size")
        self._pos = 0
        self._stream: GetResult | None = None
        self._stream_pos = 0
        self._table: FrameIndex | None = None
        self._codec: FramedCodec | None = None
        self._probed = False
        self._frame: tuple[int, bytes] | None = None  # (index, decoded bytes) of the last

    # -- io.RawIOBase ---------------------------------------------------------------------

    def readable(self) -> bool:
        """True."""
        return True

    def seekable(self) -> bool:
        """True: seeking forward decodes, backward reopens (or uses the frame index)."""
        return True

    def tell(self) -> int:
        """The position in the decoded content."""
        return self._pos

    @property
    def size(self) -> int:
        """The decoded size: recorded, from the frame index, or found by decoding to the end."""
        if self._size is None:
            table = self._seek_table()
            if table is not None:
                self._size = table.size
            else:
                here = self._pos
                self._pos = self._stream_pos
                while self._read_stream(_SKIP_STEP):
                    self._pos = self._stream_pos
                self._size = self._stream_pos
                self._pos = here
        return self._size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` (from the start, the current position or the end)."""
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self.size + offset
        else:
            raise ValueError(f"whence must be 0, 1 or 2, not {whence!r}")
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        self._pos = target
        return target

    def read(self, size: int | None = -1) -> bytes:
        """Read up to ``size`` decoded bytes (all the rest if negative)."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if size is None or size < 0:
            chunks = []
            while chunk := self.read(_SKIP_STEP):
                chunks.append(chunk)
            return b"".join(chunks)
        if size == 0:
            return b""
        if self._pos != self._stream_pos:
            table = self._seek_table()
            if table is not None:
                data = self._read_frames(table, size)
                self._pos += len(data)
                return data
        data = self._read_stream(size)
        self._pos = self._stream_pos
        return data

    def readinto(self, buffer: Any) -> int:  # noqa: ANN401 - any writable buffer
        """Read into ``buffer``; return the number of bytes read."""
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        """Read to the end."""
        return self.read(-1)

    def close(self) -> None:
        """Close the stream under the file."""
        if self._stream is not None:
            self._stream.body.close()
            self._stream = None
        super().close()

    def __reduce__(self) -> Any:  # noqa: ANN401 - pickle protocol
        """Refuse to pickle an open file (as fsspec files do)."""
        raise TypeError("an open s3po file cannot be pickled; pickle the filesystem")

    # -- the decoded stream ---------------------------------------------------------------

    def _open_stream(self) -> None:
        if self._stream is not None:
            self._stream.body.close()
        self._stream = self.fs.conn.open(self.bucket, self.key)
        _check_same(self._stream, self._etag, self.bucket, self.key)
        self._etag = self._stream.info.etag
        self._stream_pos = 0

    def _read_stream(self, size: int) -> bytes:
        """Read ``size`` bytes at ``self._pos`` from the decoded stream (reopened if behind)."""
        if self._stream is None or self._stream_pos > self._pos:
            self._open_stream()
        assert self._stream is not None  # noqa: S101 - for the type checker
        body = self._stream.body
        while self._stream_pos < self._pos:
            skipped = body.read(min(_SKIP_STEP, self._pos - self._stream_pos))
            if not skipped:
                return b""
            self._stream_pos += len(skipped)
        data = body.read(size)
        self._stream_pos += len(data)
        return data

    # -- framed objects (seekable zstd and gzip) -----------------------------------------

    def _seek_table(self) -> FrameIndex | None:
        """The object's frame index, if it is framed (read once, at the first seek)."""
        if not self._probed:
            self._probed = True
            codecs = self.fs.conn.transfer.codecs
            self._codec = framed_codec(codecs, self.details.get("ContentEncoding"))
            if self._codec is not None:
                self._table = read_frame_index(
                    self.fs.conn,
                    self._codec,
                    self.bucket,
                    self.key,
                    self.details["size"],
                    self._etag,
                )
        return self._table

    def _read_frames(self, table: FrameIndex, size: int) -> bytes:
        """Read ``size`` bytes at ``self._pos`` from the frames that hold them."""
        first = table.frame_at(self._pos)
        if first is None:
            return b""
        want_end = min(self._pos + size, table.size)
        last = table.frame_at(want_end - 1)
        assert last is not None  # noqa: S101 - want_end - 1 is inside the content
        out = bytearray()
        for index, decoded in self._frames(table, first, last):
            start = max(self._pos, table.frames[index].decoded_offset)
            lo = start - table.frames[index].decoded_offset
            hi = min(want_end - table.frames[index].decoded_offset, len(decoded))
            out += decoded[lo:hi]
        return bytes(out)

    def _frames(self, table: FrameIndex, first: int, last: int) -> list[tuple[int, bytes]]:
        if self._frame is not None and self._frame[0] == first == last:
            return [self._frame]
        assert self._codec is not None  # noqa: S101 - the index came from it
        frames = fetch_frames(
            self.fs.conn, self._codec, table, self.bucket, self.key, first, last, self._etag
        )
        self._frame = frames[-1]
        return frames


class WriteFile(AbstractBufferedFile):  # type: ignore[misc]  # fsspec is untyped
    """A write-only file: spooled, then uploaded on close (or on commit in a transaction).

    .. versionadded:: 0.4.0
    """

    def __init__(
        self,
        fs: S3poFileSystem,
        path: str,
        *,
        block_size: int | str = "default",
        autocommit: bool = True,
        upload: dict[str, Any] | None = None,
    ) -> None:
        """Open ``path`` for writing; ``upload`` holds the upload's options (compress, ...)."""
        self.bucket, self.key = fs.split_path(path)
        self._upload_options = upload or {}
        self._spool: tempfile.SpooledTemporaryFile[bytes] | None = None
        super().__init__(fs, path, mode="wb", block_size=block_size, autocommit=autocommit)

    def _initiate_upload(self) -> None:
        part = self.fs.conn.config.chunk.part_size
        self._spool = tempfile.SpooledTemporaryFile(max_size=part)  # noqa: SIM115 - kept open

    def _upload_chunk(self, final: bool = False) -> bool:
        assert self._spool is not None  # noqa: S101 - _initiate_upload ran first
        self._spool.write(self.buffer.getbuffer())
        if final and self.autocommit:
            self.commit()
        return True

    def commit(self) -> None:
        """Upload what was written (one atomic PUT or CompleteMultipartUpload)."""
        if self._spool is None:
            self._initiate_upload()
        assert self._spool is not None  # noqa: S101
        spool, self._spool = self._spool, None
        with spool:
            size = spool.tell()
            spool.seek(0)
            self.fs.upload_stream(self.path, spool, size, **self._upload_options)

    def discard(self) -> None:
        """Drop what was written; nothing is stored."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None
