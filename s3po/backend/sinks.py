"""Download sinks: where a body's bytes go, handed to :meth:`Body.drain <s3po.Body.drain>`.

- :class:`StreamSink`: a binary stream, written in order.
- :class:`MemorySink`: bytes in memory, written in order.
- :class:`FileSink`: a temporary file beside the destination, written at offsets (so a
  ranged body fills it in parallel), renamed over the destination on success and removed
  on failure. The file gets the mode ``cp`` gives: ``0666 & ~umask`` when new, the old
  file's mode when it replaces one.

A body drains itself into a sink: sequentially by default, ranges in parallel at their
offsets when the body is ranged and the sink takes random access. A sink reports progress,
and a file sink tells a :class:`~s3po.integrity.FileHasher` which stretches are complete.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import random
import stat
import threading
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, ClassVar, Self

from s3po.errors import LocalFileError, S3poError, TransientError
from s3po.resume import keeps_state

if TYPE_CHECKING:
    from types import TracebackType

    from s3po.backend.bodies import Body
    from s3po.backend.sources import Progress
    from s3po.integrity import FileHasher
    from s3po.resume import DownloadJournal

__all__ = ["DownloadSink", "FileSink", "MemorySink", "StreamSink"]

log = logging.getLogger("s3po.resume")

#: Bytes moved per step when a body is copied into a sink (a whole default part).
COPY_CHUNK = 1024 * 1024


class DownloadSink:
    """Where a download is written.

    Attributes:
        random_access: Whether :meth:`copy_range` can write at any offset, so a ranged
            body may fill the sink out of order.

    .. versionadded:: 0.4.0
    """

    random_access: ClassVar[bool] = False

    def __init__(self, progress: Progress | None = None) -> None:
        """A sink reporting each number of bytes written to ``progress``."""
        self._progress = progress
        self._lock = threading.Lock()
        self.written = 0

    def write(self, data: bytes) -> None:
        """Append ``data``."""
        raise NotImplementedError

    def copy_from(self, body: Body, size: int = COPY_CHUNK) -> int:
        """Append up to ``size`` of ``body``'s next bytes; returns how many, 0 at its end."""
        data = body.read(size)
        if data:
            self.write(data)
            self._report(len(data))
        return len(data)

    def present(self, lo: int, hi: int) -> bool:  # noqa: ARG002 - overridden
        """Whether ``[lo, hi)`` is already in the sink (a resumed download), counted as written.

        A ranged body asks before fetching each range, and skips the ones present.

        .. versionadded:: 0.4.0
        """
        return False

    def restart(self, reason: str) -> None:
        """The body writes the whole content from its start, whatever the sink holds already.

        A body that cannot skip what an earlier run left (a compressed stream with no frame
        index decodes only from its start) says so before it writes, and ``reason`` says
        why; a resumable file sink then logs it and discards what it held. Other sinks hold
        nothing from before, and ignore it.

        .. versionadded:: 0.4.0
        """

    def copy_range(self, body: Body, lo: int, hi: int) -> None:  # noqa: ARG002 - overridden
        """Write ``body`` (the object's bytes ``[lo, hi)``) at its offsets.

        Raises:
            TypeError: The sink is sequential (:attr:`random_access` is False).
        """
        msg = f"{type(self).__name__} writes in order only; it has no offsets ({lo}, {hi})"
        raise TypeError(msg)

    def _report(self, n: int) -> None:
        with self._lock:
            self.written += n
            if self._progress is not None:
                self._progress(n)


class StreamSink(DownloadSink):
    """A binary stream, written in order.

    .. versionadded:: 0.4.0
    """

    def __init__(self, stream: IO[bytes], progress: Progress | None = None) -> None:
        """Write to ``stream``."""
        super().__init__(progress)
        self.stream = stream

    def write(self, data: bytes) -> None:
        """Write ``data`` to the stream."""
        self.stream.write(data)


class MemorySink(DownloadSink):
    """Bytes collected in memory.

    .. versionadded:: 0.4.0
    """

    def __init__(self, progress: Progress | None = None) -> None:
        """An empty buffer."""
        super().__init__(progress)
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        """Keep ``data``."""
        self._chunks.append(data)

    def getvalue(self) -> bytes:
        """Everything written."""
        return b"".join(self._chunks)


class FileSink(DownloadSink):
    """A file written atomically: a temporary file beside ``path``, renamed over it.

    Use it as a context manager: entering creates the temporary file, leaving renames it
    into place if the block succeeded and removes it otherwise, so ``path`` is never left
    half-written. A failure to write the local file (ENOSPC, EACCES, EIO) becomes a
    :class:`~s3po.LocalFileError`; backend errors pass through unchanged.

    The file's mode is the one ``cp`` and ``aws s3 cp`` give: a new file gets
    ``0666 & ~umask`` (the kernel applies the umask, and a default ACL, when the temporary
    file is created), and a file that is replaced keeps its permission bits (setuid and
    setgid are dropped, as a write by ``cp`` drops them). The mode is set on the temporary
    file before the rename; while a file is being replaced its temporary file is private
    (0600), so the new content is never readable by more people than the old.

    With ``mtime``, the temporary file gets that modification time (and access time) once
    it is closed, before it is renamed into place.

    With ``resume`` (a :class:`~s3po.resume.DownloadJournal`), the file is the journal's
    partial file beside ``path``, ``ranges`` are the byte ranges an earlier run left in it
    (:meth:`present` to a ranged body, which then skips them), every range written is
    journaled, and an interruption (:func:`~s3po.resume.keeps_state`) keeps the partial
    file and the journal instead of removing them.

    .. versionadded:: 0.4.0

    .. versionchanged:: 0.4.0
       ``resume``, ``ranges`` and ``mtime``.
    """

    random_access: ClassVar[bool] = True

    def __init__(
        self,
        path: pathlib.Path,
        *,
        bucket: str,
        key: str,
        progress: Progress | None = None,
        resume: DownloadJournal | None = None,
        ranges: Sequence[tuple[int, int]] = (),
        mtime: float | None = None,
    ) -> None:
        """Write ``path`` with the object ``bucket``/``key``; ``mtime``: the file's, if given."""
        super().__init__(progress)
        self.mtime = mtime
        self.resume = resume
        self.ranges = tuple(ranges)
        self.path = path
        self.bucket = bucket
        self.key = key
        self._fd = -1
        self._tmp: str | None = None
        self._pos = 0
        self._hasher: FileHasher | None = None
        #: The bytes an earlier run left in the partial file (resume only).
        self._found = 0
        #: The mode a new file gets here (``0666 & ~umask``), read from the temporary file
        #: when it is made private (None: never read, the temporary file still has it).
        self._new_mode: int | None = None
        #: The mode set on the temporary file (None: the one it was created with).
        self._mode: int | None = None

    @property
    def fd(self) -> int:
        """The open temporary file."""
        if self._fd < 0:
            msg = "the file sink is not open; use it in a with block"
            raise RuntimeError(msg)
        return self._fd

    def hash_with(self, hasher: FileHasher | None) -> None:
        """Tell ``hasher`` of every stretch written from now on (None: stop)."""
        self._hasher = hasher

    def __enter__(self) -> Self:
        """Create the temporary file (and the folders above it, if missing)."""
        with self._local_errors():
            if self.resume is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = os.fspath(self.resume.partial)
                # 0666 masked by the kernel, as a new file's (a kept partial file keeps its own)
                fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
                try:
                    self._found = os.fstat(fd).st_size
                    if not self.ranges:
                        os.ftruncate(fd, 0)
                except BaseException:
                    os.close(fd)
                    raise
            else:
                fd, tmp = _create_beside(self.path)
            try:
                if _existing_mode(self.path) is not None:
                    # Replacing: private until the rename. The mode it was created with
                    # (0666 masked by the kernel) is kept for the case where the file it
                    # replaces is gone by the rename.
                    self._new_mode = stat.S_IMODE(os.fstat(fd).st_mode)
                    os.fchmod(fd, 0o600)
                    self._mode = 0o600
            except BaseException:
                os.close(fd)
                if self.resume is None:
                    _unlink(tmp)
                raise
        self._fd, self._tmp = fd, tmp
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Rename the file into place, or remove it; translate local write errors."""
        tmp = self._tmp
        if tmp is None:
            return
        try:
            with self._local_errors():
                try:
                    if exc is None:
                        self._settle()
                finally:
                    try:
                        os.close(self._fd)
                    finally:
                        self._fd = -1
                if exc is None:
                    if self.mtime is not None:  # closed: no write moves it; not yet in place
                        os.utime(tmp, (self.mtime, self.mtime))
                    os.replace(tmp, self.path)  # noqa: PTH105 - Path.replace makes a Path
                    self._finished()
        except BaseException:
            self._discard(tmp)
            raise
        if exc is not None and self.resume is not None and keeps_state(exc):
            self.resume.keep()
            log.warning(
                "kept the partial download of s3://%s/%s in %s after %s; download it again "
                "with resume on to continue, or run s3po cleanup to remove it",
                self.bucket,
                self.key,
                tmp,
                type(exc).__name__,
            )
        elif exc is not None:
            self._discard(tmp)
            if isinstance(exc, OSError) and not isinstance(exc, S3poError):
                raise self._local_error(exc) from exc

    def _settle(self) -> None:
        """Give the finished temporary file its mode: the replaced file's, or a new one's."""
        existing = _existing_mode(self.path)
        mode = self._new_mode if existing is None else existing
        if mode is not None and mode != self._mode:
            os.fchmod(self._fd, mode)

    def _discard(self, tmp: str) -> None:
        _unlink(tmp)
        if self.resume is not None:
            self.resume.finish()

    def _finished(self) -> None:
        if self.resume is not None:
            self.resume.finish()

    def present(self, lo: int, hi: int) -> bool:
        """Whether an earlier run left ``[lo, hi)`` in the partial file (counted as written)."""
        if not any(a <= lo and hi <= b for a, b in self.ranges):
            return False
        self._report(hi - lo)
        self._done(lo, hi)
        return True

    def restart(self, reason: str) -> None:
        """Discard what an earlier run left, saying why (``reason``), before the body writes.

        The partial file is emptied and the journal started again, so a later run never
        takes the old ranges for ones this run wrote.
        """
        if self.resume is None or not (self.ranges or self._found):
            return
        log.info(
            "not resuming the download of s3://%s/%s: %s; downloading it from the start "
            "(%d bytes of the earlier run are discarded)",
            self.bucket,
            self.key,
            reason,
            self._found,
        )
        self.ranges = ()
        self._found = 0
        with self._local_errors():
            os.ftruncate(self.fd, 0)
        self.resume.restart()

    def _local_errors(self) -> _Translating:
        return _Translating(self)

    def _local_error(self, exc: OSError) -> LocalFileError:
        return LocalFileError(
            f"downloading s3://{self.bucket}/{self.key} to {self.path} failed writing the "
            f"local file ({exc.strerror or exc}); the temporary file was removed and "
            f"{self.path} is as it was; free some space or fix the folder, then download again",
            path=str(self.path),
            errno=exc.errno,
            bucket=self.bucket,
            key=self.key,
        )

    def write(self, data: bytes) -> None:
        """Append ``data`` at the sequential position."""
        view = memoryview(data)
        while view:
            view = view[os.pwrite(self.fd, view, self._pos + len(data) - len(view)) :]
        self._done(self._pos, self._pos + len(data))
        self._pos += len(data)

    def copy_from(self, body: Body, size: int = COPY_CHUNK) -> int:
        """Append up to ``size`` of ``body`` with :meth:`Body.copy_into`.

        That is a kernel copy where the body is a local file.
        """
        n = body.copy_into(self.fd, self._pos, size)
        if n:
            self._done(self._pos, self._pos + n)
            self._pos += n
            self._report(n)
        return n

    def copy_range(self, body: Body, lo: int, hi: int) -> None:
        """Copy ``body`` into ``[lo, hi)``; a body that ends early raises TransientError."""
        pos = lo
        while pos < hi:
            n = body.copy_into(self.fd, pos, min(COPY_CHUNK, hi - pos))
            if not n:
                msg = f"the body ended {hi - pos} bytes early"
                raise TransientError(msg, bucket=self.bucket, key=self.key)
            pos += n
            self._report(n)
        self._done(lo, hi)
        if self.resume is not None:
            self.resume.written(lo, hi)

    def _done(self, lo: int, hi: int) -> None:
        if self._hasher is not None and hi > lo:
            self._hasher.written(lo, hi)


#: Where temporary names come from: a generator seeded from the OS once (and again in a
#: forked child), not a read of the OS's randomness per file. The names need only differ;
#: O_EXCL refuses one that exists, and the loop below takes another.
_NAMES = random.Random()  # noqa: S311 - unique names, not secrets
os.register_at_fork(after_in_child=_NAMES.seed)


def _create_beside(path: pathlib.Path) -> tuple[int, str]:
    """Create a new, empty ``.NAME.XXXXXXXX.s3po-part`` beside ``path``, mode 0666 & ~umask.

    Unlike :func:`tempfile.mkstemp` (always 0600), the mode passed to ``open`` is the one a
    new file gets from ``cp``, masked by the kernel, so the umask need not be read. The
    folders above ``path`` are made only when the create finds one missing: a batch that
    writes thousands of files into one folder pays no ``mkdir`` per file.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    folder, name = os.path.split(os.fspath(path))
    made = False
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{_NAMES.getrandbits(32):08x}.s3po-part")  # noqa: PTH118 - a str, not a Path per file
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            if made:
                raise
            path.parent.mkdir(parents=True, exist_ok=True)
            made = True
    raise FileExistsError(f"no free temporary name beside {path}")  # pragma: no cover


def _unlink(path: str) -> None:
    """Remove ``path`` if it is there."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # noqa: PTH108 - the temporary name is a str


def _existing_mode(path: pathlib.Path) -> int | None:
    """The permission bits a replaced ``path`` keeps (no setuid/setgid), or None if new."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return stat.S_IMODE(st.st_mode) & ~(stat.S_ISUID | stat.S_ISGID)


class _Translating:
    """Turns an OSError raised by the local file system into the sink's LocalFileError."""

    def __init__(self, sink: FileSink) -> None:
        self._sink = sink

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, OSError) and not isinstance(exc, S3poError):
            raise self._sink._local_error(exc) from exc  # noqa: SLF001
