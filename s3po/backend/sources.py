"""Upload sources: the typed objects an upload hands down the stack.

Every layer receives one of these (or plain bytes from a caller that builds its own stack)
and dispatches on its class, never on attributes it probes for:

- :class:`BytesSource`: content already in memory.
- :class:`FileSource`: a regular file of known size; the multipart layer cuts it into
  :class:`~s3po.FileWindow` parts read as they are sent, so nothing is buffered.
- :class:`StreamSource`: any binary stream, read to its end (a regular file behind it is
  still watched for changes).

A source carries its size, the checksum declared for it (set by the integrity layer), its
progress (bytes are reported as they are read or sent, negative when a retry rewinds) and
its rewind (``seek``). Backends at the bottom never see a source: the multipart layer hands
them bytes, a :class:`~s3po.FileWindow` or a readable stream, as before.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from s3po.backend.bodies import FileIdentity, FileWindow, PartBody
from s3po.errors import InvalidRequest, SourceChanged
from s3po.integrity import Checksum, content_digest, file_digest

if TYPE_CHECKING:
    from s3po.integrity import ContentHash
    from s3po.resume import UploadJournal

__all__ = ["HOLD_LIMIT", "BytesSource", "FileSource", "Progress", "StreamSource", "UploadSource"]

#: Progress callbacks receive the number of bytes just moved (negative on a rewind).
Progress = Callable[[int], None]


class UploadSource:
    """What an upload reads from, with its size, declared checksum and progress.

    Attributes:
        size: The bytes planned, or None for a stream read to its end.
        checksum: The content checksum declared for the upload (set by the integrity
            layer through :meth:`expect`), or None.
        count: Bytes read or sent so far (less after a rewind).
        resume: The journal of a resumable upload (``upload_file(..., resume=True)``), or
            None: the multipart layer continues the upload it names, and keeps it when
            the upload is interrupted.

    .. versionadded:: 0.4.0
    """

    def __init__(
        self,
        *,
        size: int | None,
        progress: Progress | None = None,
        resume: UploadJournal | None = None,
    ) -> None:
        """A source of ``size`` bytes reporting to ``progress``."""
        self.size = size
        self.checksum: Checksum | None = None
        self.count = 0
        self._progress = progress
        self.resume = resume

    def read(self, size: int = -1, /) -> bytes:
        """Read up to ``size`` bytes (all that is left if negative); b"" at the end."""
        raise NotImplementedError

    def digest(self, kind: ContentHash) -> Checksum | None:  # noqa: ARG002 - overridden
        """The ``kind`` checksum of the planned content, or None if it cannot be known first."""
        return None

    def expect(self, checksum: Checksum) -> None:
        """Declare ``checksum`` as the content's: a file source checks its reads against it."""
        self.checksum = checksum

    def sent(self, n: int) -> None:
        """Count ``n`` bytes sent without passing through :meth:`read` (whole bytes, windows)."""
        self._moved(n)

    def _moved(self, n: int) -> None:
        self.count += n
        if self._progress is not None and n:
            self._progress(n)

    def seekable(self) -> bool:
        """Whether :meth:`seek` can rewind the source (for a retry)."""
        return False

    def tell(self) -> int:
        """The position in the source."""
        raise io.UnsupportedOperation

    def seek(self, pos: int) -> int:
        """Move to ``pos``; progress moves by the same amount (negative going back)."""
        raise io.UnsupportedOperation(pos)


class BytesSource(UploadSource):
    """Content in memory.

    .. versionadded:: 0.4.0
    """

    def __init__(self, data: bytes, *, progress: Progress | None = None) -> None:
        """Upload ``data``."""
        super().__init__(size=len(data), progress=progress)
        self.data = data
        self._pos = 0

    def read(self, size: int = -1, /) -> bytes:
        """Read up to ``size`` bytes."""
        end = len(self.data) if size is None or size < 0 else min(len(self.data), self._pos + size)
        chunk = self.data[self._pos : end] if self._pos or end < len(self.data) else self.data
        self._pos = end
        self._moved(len(chunk))
        return chunk

    def digest(self, kind: ContentHash) -> Checksum:
        """The checksum of the bytes."""
        return Checksum(kind.name, kind.new(self.data).hexdigest())

    def seekable(self) -> bool:
        """Bytes can always rewind."""
        return True

    def tell(self) -> int:
        """The position."""
        return self._pos

    def seek(self, pos: int) -> int:
        """Move to ``pos``."""
        self._moved(pos - self._pos)
        self._pos = pos
        return pos


class _File:
    """A regular file behind a stream: where the upload starts, and the state it began in."""

    __slots__ = ("fd", "identity", "path", "start")

    def __init__(self, fd: int, path: str, start: int, identity: FileIdentity) -> None:
        self.fd = fd
        self.path = path
        self.start = start
        self.identity = identity


class StreamSource(UploadSource):
    """A binary stream read to its end.

    When a regular file is behind it, it is the last line of defence for bytes that flow
    through Python (compressed uploads, or a file that no longer has its planned size):
    the read that hands out the last planned byte first checks that the file is unchanged
    and that the bytes of this pass hash to the declared checksum, and any byte beyond the
    planned size is refused, so the request or part carrying them is never completed.
    Each check raises :class:`~s3po.SourceChanged`.

    .. versionadded:: 0.4.0
    """

    def __init__(
        self,
        stream: IO[bytes],
        *,
        progress: Progress | None = None,
        size: int | None = None,
        file: _File | None = None,
    ) -> None:
        """Read ``stream``; ``file`` is the regular file behind it, if any."""
        super().__init__(size=size, progress=progress)
        self._stream = stream
        self._file = file if file is not None else _file_behind(stream)
        self._hash: Any = None
        self._checked = False

    @property
    def identity(self) -> FileIdentity | None:
        """The state of the file behind the stream when the upload began, if there is one."""
        return self._file.identity if self._file is not None else None

    @property
    def path(self) -> str | None:
        """The file's name, for messages."""
        return self._file.path if self._file is not None else None

    def digest(self, kind: ContentHash) -> Checksum | None:
        """The checksum of the rest of the stream, if it can seek back; it is left in place."""
        return content_digest(self._stream, kind)

    def expect(self, checksum: Checksum) -> None:
        """Check each pass over the file behind the stream against ``checksum``."""
        super().expect(checksum)
        self._hash = checksum.hash.new()

    def read(self, size: int = -1, /) -> bytes:
        """Read, count, and check the file before its last planned byte is handed out."""
        data = self._stream.read(size)
        if isinstance(data, str):
            raise InvalidRequest(
                "the upload stream is opened in text mode; open it with 'rb' or pass bytes"
            )
        if self._file is not None:
            self._watch(data, size)
        self._moved(len(data))
        return data

    def _watch(self, data: bytes, n: int) -> None:
        if self._hash is not None:
            self._hash.update(data)
        total = self.count + len(data)
        if self._checked:
            if data:
                self._changed(f"it grew past the {self.size} bytes it had when its upload began")
            return
        at_end = (self.size is not None and total >= self.size) or (not data and n != 0)
        if not at_end:
            return
        self._checked = True
        if self.size is not None and total != self.size:
            self._changed(f"{total} bytes were read of the {self.size} it had")
        if self._file is not None:
            self._file.identity.check(self._file.fd, self._file.path)
        expected = self.checksum
        if (
            self._hash is not None
            and expected is not None
            and self._hash.hexdigest() != expected.hexdigest
        ):
            self._changed(f"the bytes read no longer match its {expected.hash.label}")

    def _changed(self, why: str) -> None:
        raise SourceChanged(
            f"{self.path} changed while it was being uploaded ({why}); the upload was not "
            "committed and the file was kept: upload it again once nothing writes to it",
            path=self.path,
        )

    def seekable(self) -> bool:
        """Whether the stream can seek."""
        return bool(getattr(self._stream, "seekable", lambda: False)())

    def tell(self) -> int:
        """The stream's position."""
        return self._stream.tell()

    def seek(self, pos: int) -> int:
        """Rewind: progress goes back, and a pass from the start is checked again."""
        moved = pos - self._stream.tell()
        result = self._stream.seek(pos)
        self._moved(moved)
        if self._file is not None:
            self._checked = False
            if self.checksum is not None:
                fresh = pos == self._file.start
                self._hash = self.checksum.hash.new() if fresh else None
        return result


#: A file of at most this many bytes is read whole when it is opened for its upload, and sent
#: from those bytes (:attr:`FileSource.held`): one read of the file, no stream, instead of a
#: hashing pass and a sending pass, which a batch of small files pays per file.
HOLD_LIMIT = 256 * 1024


class FileSource(StreamSource):
    """A regular file of known size, sent as windows of its open descriptor.

    Attributes:
        fd: The open file.
        start: The offset the upload reads from.

    .. versionadded:: 0.4.0
    """

    def __init__(
        self,
        stream: IO[bytes],
        *,
        fd: int,
        path: str,
        start: int,
        size: int,
        identity: FileIdentity,
        progress: Progress | None = None,
        held: bytes | None = None,
    ) -> None:
        """Upload ``size`` bytes of ``fd`` from ``start``, as the file was at ``identity``.

        ``held``: the ``size`` bytes, already read by whoever opened the file; ``stream``
        then reads them, not the file, and each window checks the file unchanged.
        """
        if held is not None and len(held) != size:
            msg = f"held {len(held)} bytes of a {size}-byte upload"
            raise ValueError(msg)
        file = _File(fd, path, start, identity)
        super().__init__(stream, progress=progress, size=size, file=file)
        self.fd = fd
        self.start = start
        self.planned = size
        self._held = held

    @property
    def identity(self) -> FileIdentity:
        """The file's state when the upload began (before its checksum was computed)."""
        return self._planned_file.identity

    @property
    def path(self) -> str:
        """The file's name."""
        return self._planned_file.path

    @property
    def _planned_file(self) -> _File:
        file = self._file
        if file is None:  # pragma: no cover - always set by __init__
            raise AssertionError
        return file

    @property
    def held(self) -> bytes | None:
        """The planned bytes if they were read whole, else None.

        They are for a file of at most :data:`HOLD_LIMIT` bytes, read when its path was
        opened (:func:`~s3po.transfer.sources.open_source`). They were
        read in one pass, so the checksum and the body need no second read; each window
        handed out checks the file unchanged since the upload began.

        .. versionadded:: 0.4.0
        """
        return self._held

    def windowable(self) -> bool:
        """Whether the file still holds exactly the planned bytes (else it is streamed)."""
        if self._held is not None:
            return True
        try:
            return os.fstat(self.fd).st_size - self.start == self.planned
        except OSError:
            return False

    def window(self, offset: int, length: int) -> PartBody:
        """The window of ``length`` bytes at ``offset`` from the upload's start.

        A window over the whole upload carries the declared checksum, so the backend's
        full pass over it is checked against it. A small file's bytes are already in memory
        (:attr:`held`), so its windows are slices of them, handed out once the file is
        found unchanged since the upload began (else :class:`~s3po.SourceChanged`).
        """
        held = self._held
        if held is not None:
            # The bytes were read before; the file must still be as it was then.
            self.check_unchanged()
            if offset == 0 and length == len(held):
                return held
            return memoryview(held)[offset : offset + length]
        whole = offset == 0 and length == self.planned
        return FileWindow(
            self.fd,
            self.start + offset,
            length,
            identity=self.identity,
            path=self.path,
            content=self.checksum if whole else None,
        )

    def digest(self, kind: ContentHash) -> Checksum:
        """The checksum of the planned bytes: of those held, else read with ``pread``.

        A read keeps the stream's position.

        Raises:
            SourceChanged: The file changed while it was hashed.
        """
        if self._held is not None:
            return Checksum(kind.name, kind.new(self._held).hexdigest())
        digest = file_digest(self.fd, self.start, self.planned, kind, path=self.path)
        self.check_unchanged()
        return digest

    def check_unchanged(self) -> None:
        """Raise :class:`~s3po.SourceChanged` if the file is not in its planned state."""
        self.identity.check(self.fd, self.path)

    def finish(self) -> None:
        """Leave the stream after the uploaded bytes, as reading them would have."""
        self._stream.seek(self.start + self.planned)
        self._checked = True  # sent as windows, which checked themselves


def _file_behind(stream: Any) -> _File | None:  # noqa: ANN401 - any binary stream
    """The regular file behind a stream given as is, if there is one (checked, never refused)."""
    try:
        fd = stream.fileno()
        start = stream.tell()
        st = os.fstat(fd)
    except (AttributeError, OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    name = getattr(stream, "name", None)
    path = name if isinstance(name, str) else f"file descriptor {fd}"
    return _File(fd, path, start, FileIdentity.from_stat(st))
