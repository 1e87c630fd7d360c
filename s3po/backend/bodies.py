"""The bytes that move through the stack: upload bodies, part bodies, download bodies.

An upload hands a backend bytes, a :class:`Readable` stream or a :class:`FileWindow` (a range
of an open file, checked against its :class:`FileIdentity` before its last byte goes out); a
download hands back a :class:`Body`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from s3po.errors import SourceChanged

if TYPE_CHECKING:
    from s3po.backend.sinks import DownloadSink
    from s3po.integrity import Checksum

__all__ = [
    "MIB",
    "Body",
    "BytesBody",
    "FileIdentity",
    "FileWindow",
    "PartBody",
    "Readable",
    "UploadBody",
]

MIB = 1024 * 1024


class Readable(Protocol):
    """Anything with a binary ``read``: files, sockets' files, s3po bodies.

    .. versionadded:: 0.1.0
    """

    def read(self, size: int = -1, /) -> bytes:
        """Read up to ``size`` bytes; all that is left if negative; b"" at the end."""
        ...


#: What ``put`` accepts: bytes, or a binary stream read to its end.
UploadBody = bytes | bytearray | memoryview | Readable


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """What identifies one state of a file: size, modification and change times, inode.

    Any write to a file changes its ``mtime_ns`` and ``ctime_ns`` (and a replaced file has
    another inode), so two equal identities mean the bytes were not touched in between, as
    tar and rsync reason.

    .. versionadded:: 0.2.0
    """

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, fd: int) -> FileIdentity:
        """The identity of the open file ``fd`` now."""
        return cls.from_stat(os.fstat(fd))

    @classmethod
    def from_stat(cls, st: os.stat_result) -> FileIdentity:
        """The identity an ``os.stat`` result describes.

        .. versionadded:: 0.2.0
        """
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)

    def check(self, fd: int, path: str | None = None) -> None:
        """Raise :class:`~s3po.SourceChanged` unless ``fd`` still has this identity."""
        now = FileIdentity.of(fd)
        if now != self:
            what = path or f"file descriptor {fd}"
            raise SourceChanged(
                f"{what} changed while it was being uploaded (size {self.size} -> {now.size}, "
                f"mtime_ns {self.mtime_ns} -> {now.mtime_ns}); the upload was not committed and "
                "the file was kept: upload it again once nothing writes to it",
                path=path,
            )


class FileWindow:
    """A byte range of an open file, read on demand: a part body that is not held in memory.

    Multipart uploads of files send parts as windows, so memory does not grow with the part
    size times the concurrency. ``bytes(window)`` reads the whole range for backends that
    want bytes; streaming backends ``read`` it (and ``seek(0)`` before a retry).

    A window knows the file as it was when its upload began (``identity``). Before any read
    hands out the window's last byte, the file's identity is checked again, and when the
    window carries the checksum its upload declared (``content``), the bytes read in that
    pass are compared with it; either difference raises :class:`~s3po.SourceChanged`, so a
    request whose body streams from the window is never completed with changed bytes.

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "_digest",
        "_fd",
        "_pos",
        "changed",
        "content",
        "identity",
        "length",
        "offset",
        "path",
    )

    def __init__(
        self,
        fd: int,
        offset: int,
        length: int,
        *,
        identity: FileIdentity | None = None,
        path: str | None = None,
        content: Checksum | None = None,
    ) -> None:
        """Cover ``length`` bytes of the open file ``fd`` from ``offset``.

        ``identity`` is the file as it was when its upload began (default: now); see
        :meth:`check_unchanged`. ``path`` names the file in messages. ``content`` is the
        checksum declared for exactly these bytes, checked by every full pass over them.

        .. versionchanged:: 0.2.0
           ``identity``, ``path`` and ``content``.
        """
        self._fd = fd
        self.offset = offset
        self.length = length
        self._pos = 0
        self.identity = identity if identity is not None else FileIdentity.of(fd)
        self.path = path
        self.content = content
        self._digest: Any = content.hash.new() if content is not None else None
        #: The SourceChanged this window raised, if any: a backend whose HTTP library
        #: wraps errors raised by a body's ``read`` re-raises this instead.
        self.changed: SourceChanged | None = None

    def window(self, offset: int, length: int) -> FileWindow:
        """A window over ``length`` bytes from ``offset`` of this one, of the same file state.

        .. versionadded:: 0.2.0
        """
        return FileWindow(
            self._fd, self.offset + offset, length, identity=self.identity, path=self.path
        )

    def check_unchanged(self) -> None:
        """Raise :class:`~s3po.SourceChanged` if the file is no longer the one planned.

        Backends that commit an object from a window without passing its bytes through
        s3po (a kernel copy, say) call this after the copy and before the commit.

        .. versionadded:: 0.2.0
        """
        try:
            self.identity.check(self._fd, self.path)
        except SourceChanged as exc:
            self.changed = exc
            raise

    def _check_content(self, digest: Any) -> None:  # noqa: ANN401 - any hashlib-like object
        """Raise SourceChanged unless ``digest`` (of one full pass) is the declared checksum."""
        if self.content is not None and digest.hexdigest() != self.content.hexdigest:
            self.changed = SourceChanged(
                f"{self.path or f'file descriptor {self._fd}'} changed while it was being "
                f"uploaded: the bytes read no longer match its {self.content.hash.label} "
                f"checksum; the upload was not committed and the file was kept: upload it "
                "again once nothing writes to it",
                path=self.path,
            )
            raise self.changed

    def _finish(self, digest: Any) -> None:  # noqa: ANN401
        """The last byte of a pass is about to be handed out: check the file first."""
        self.check_unchanged()
        if digest is not None:
            self._check_content(digest)

    @property
    def fd(self) -> int:
        """The open file's descriptor (for backends that copy the window in the kernel)."""
        return self._fd

    def __len__(self) -> int:
        """The window's size."""
        return self.length

    def __bytes__(self) -> bytes:
        """Read the whole window (checked like a full pass of :meth:`read`)."""
        data = self._pread(self.offset, self.length)
        self._finish(self.content.hash.new(data) if self.content is not None else None)
        return data

    def _shorter(self) -> SourceChanged:
        self.changed = SourceChanged(
            f"{self.path or f'file descriptor {self._fd}'} is shorter than when its upload "
            "was planned (it was truncated or rewritten); the upload was not committed and "
            "the file was kept",
            path=self.path,
        )
        return self.changed

    def _pread(self, at: int, n: int) -> bytes:
        chunks = []
        while n > 0:
            chunk = os.pread(self._fd, n, at)
            if not chunk:
                raise self._shorter()
            chunks.append(chunk)
            at += len(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes from the current position.

        Raises:
            SourceChanged: This read would hand out the window's last byte, and the file
                changed since its upload began, or the bytes of this pass do not match the
                declared checksum.
        """
        left = self.length - self._pos
        n = left if size is None or size < 0 else min(size, left)
        if n <= 0:
            return b""
        data = self._pread(self.offset + self._pos, n)
        if self._digest is not None:
            self._digest.update(data)
        self._pos += len(data)
        if self._pos >= self.length:
            self._finish(self._digest)
        return data

    def views(self, size: int = MIB) -> Iterator[memoryview]:
        """The window's bytes in pieces of up to ``size``, read into one reused buffer.

        Each view is valid until the next one is produced; hash it, don't keep it. The
        file is checked (as by :meth:`read`) before the last view is produced.
        """
        view = memoryview(bytearray(min(size, self.length) or 1))
        digest = self.content.hash.new() if self.content is not None else None
        at, left = self.offset, self.length
        while left > 0:
            n = os.preadv(self._fd, [view[: min(len(view), left)]], at)
            if not n:
                raise self._shorter()
            if digest is not None:
                digest.update(view[:n])
            at += n
            left -= n
            if left <= 0:
                self._finish(digest)
            yield view[:n]

    def seek(self, pos: int, whence: int = 0) -> int:
        """Move within the window (back to 0 starts a new checked pass)."""
        base = {0: 0, 1: self._pos, 2: self.length}[whence]
        new = max(0, min(self.length, base + pos))
        if self.content is not None and new != self._pos:
            # A pass that skips bytes cannot be hashed; one from the start can.
            self._digest = self.content.hash.new() if new == 0 else None
        self._pos = new
        return self._pos

    def tell(self) -> int:
        """The position within the window."""
        return self._pos

    def seekable(self) -> bool:
        """Windows can always seek."""
        return True

    def readable(self) -> bool:
        """Windows can always be read."""
        return True

    def __repr__(self) -> str:
        """Show the range."""
        return f"FileWindow(offset={self.offset}, length={self.length})"


#: What ``put_part`` accepts.
PartBody = bytes | memoryview | FileWindow


class Body(io.RawIOBase):
    """A readable binary stream over an object's body.

    Backends return a subclass; s3po's layers wrap it. ``read`` raises s3po errors only
    (a dropped connection becomes :class:`~s3po.TransientError`).

    .. versionadded:: 0.1.0
    """

    #: Whether :meth:`drain` writes ranges out of order into a random-access sink (a
    #: ranged body does); a layer that hashes the content then hashes the sink's file as
    #: contiguous stretches complete instead of the bytes as they pass.
    #:
    #: .. versionadded:: 0.4.0
    ranged = False

    def readable(self) -> bool:
        """Bodies are always readable."""
        return True

    def drain(self, sink: DownloadSink) -> int:
        """Write the whole rest of the body into ``sink``; returns the bytes written.

        The default copies in order with :meth:`DownloadSink.copy_from
        <s3po.backend.sinks.DownloadSink.copy_from>` (which uses :meth:`copy_into`, so a
        local file's body is copied in the kernel); a ranged body overrides it to write its
        ranges in parallel at their offsets when the sink takes random access.

        .. versionadded:: 0.4.0
        """
        total = 0
        while n := sink.copy_from(self):
            total += n
        return total

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        """Read into ``buffer``; returns the number of bytes read, 0 at the end."""
        data = self.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all remaining if negative)."""
        raise NotImplementedError

    def readall(self) -> bytes:
        """Read to the end."""
        chunks = []
        while chunk := self.read(MIB):  # a large read may allocate its whole size up front
            chunks.append(chunk)
        return b"".join(chunks)

    def copy_into(self, fd: int, offset: int, size: int) -> int:
        """Write up to ``size`` of the next bytes into the open file ``fd`` at ``offset``.

        Returns the number of bytes written, 0 at the end. This reads and writes; a body
        backed by a local file overrides it to copy inside the kernel instead.

        .. versionadded:: 0.1.0
        """
        data = self.read(size)
        view = memoryview(data)
        while view:
            view = view[os.pwrite(fd, view, offset + len(data) - len(view)) :]
        return len(data)


class BytesBody(Body):
    """A body over bytes already in memory.

    .. versionadded:: 0.1.0
    """

    def __init__(self, data: bytes | memoryview) -> None:
        """Wrap ``data``."""
        super().__init__()
        self._data = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes."""
        end = (
            len(self._data) if size is None or size < 0 else min(self._pos + size, len(self._data))
        )
        chunk = bytes(self._data[self._pos : end])
        self._pos = end
        return chunk
