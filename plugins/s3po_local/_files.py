"""File-level helpers of the local backend: bodies, kernel copies, typed OS errors, commits.

:func:`commit` is the one way an object (or a part) reaches its final name: a staging file
in the target's folder is filled, given its record, fsynced, checked and renamed in one
step. Nothing else ever writes a committed file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import s3po
from s3po.backend import Body, FileWindow, WriteCondition, emulation

if TYPE_CHECKING:
    from s3po.backend import UploadBody

#: Staging files start with this; listings skip them and ``cleanup`` removes old ones.
TMP = ".s3po-tmp-"
CHUNK = 1024 * 1024
_MKDIR_TRIES = 8

#: What the disk's refusals mean and what to do about them.
_HINTS = {
    errno.ENOSPC: "the disk is full: free space, then upload again",
    errno.EDQUOT: "the disk quota is used up: free space or raise the quota, then upload again",
    errno.EROFS: "the filesystem is mounted read-only",
    errno.EIO: "the disk reported an I/O error: check it (dmesg) before trusting what it holds",
    errno.EFBIG: "the file is larger than the filesystem allows",
}
_TRANSIENT = {errno.EAGAIN, errno.EINTR, errno.EBUSY, errno.ETIMEDOUT}


def store_error(
    exc: OSError, doing: str, path: Path | str, bucket: str, key: str | None
) -> s3po.S3poError:
    """The typed s3po error for ``exc``, raised while ``doing`` something to ``path``."""
    if exc.errno == errno.ENAMETOOLONG:
        return s3po.InvalidKey(f"key {key!r} makes a path too long for the filesystem: {path}")
    hint = _HINTS.get(exc.errno or 0, "")
    message = (
        f"cannot {doing} {path}: {exc.strerror or exc}; nothing was committed and the "
        "previous version, if any, is unchanged" + (f" ({hint})" if hint else "")
    )
    cls: type[s3po.BackendError] = s3po.BackendError
    if exc.errno in {errno.EACCES, errno.EPERM}:
        cls = s3po.AccessDenied
    elif exc.errno in _TRANSIENT:
        cls = s3po.TransientError
    return cls(message, bucket=bucket, key=key, backend="local")


@contextlib.contextmanager
def os_errors(doing: str, path: Path | str, bucket: str, key: str | None) -> Iterator[None]:
    """The local backend's edge: an OSError raised inside becomes its typed s3po error.

    s3po's own errors (some are OSErrors too: NotFound, AccessDenied) pass unchanged.
    """
    try:
        yield
    except s3po.S3poError:
        raise
    except OSError as exc:
        raise store_error(exc, doing, path, bucket, key) from exc


class FileBody(Body):
    """The stored file from its current position, ``remaining`` bytes of it.

    A file that ends before ``remaining`` bytes were read (cut short by hand while open)
    raises :class:`~s3po.TransientError`, so the retry layer resumes rather than a caller
    receiving a short result.
    """

    def __init__(self, fd: int, start: int, remaining: int, bucket: str, key: str) -> None:
        super().__init__()
        self._stream = os.fdopen(fd, "rb")
        self._stream.seek(start)
        self._remaining = remaining
        self._kernel_copy = hasattr(os, "copy_file_range")
        self._bucket = bucket
        self._key = key

    def _ended(self) -> s3po.TransientError:
        return s3po.TransientError(
            f"the stored file ended with {self._remaining} bytes of the object still to read",
            bucket=self._bucket,
            key=self._key,
            backend="local",
        )

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        n = self._remaining if size is None or size < 0 else min(size, self._remaining)
        try:
            data = self._stream.read(n)
        except OSError as exc:
            raise store_error(exc, "read", self._stream.name, self._bucket, self._key) from exc
        if not data:
            raise self._ended()
        self._remaining -= len(data)
        return data

    def copy_into(self, fd: int, offset: int, size: int) -> int:
        """Copy inside the kernel (``os.copy_file_range``) where the OS and filesystem can."""
        n = min(size, self._remaining)
        if n <= 0:
            return 0
        if self._kernel_copy:
            pos = self._stream.tell()
            try:
                copied = os.copy_file_range(self._stream.fileno(), fd, n, pos, offset)
            except OSError:  # e.g. a filesystem pair the call does not support
                self._kernel_copy = False
            else:
                if copied == 0:
                    raise self._ended()
                self._stream.seek(pos + copied)
                self._remaining -= copied
                return copied
        return super().copy_into(fd, offset, n)

    def close(self) -> None:
        self._stream.close()
        super().close()


class SourceFailed(Exception):
    """Carries an error of the caller's source through :func:`commit` untranslated."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def chunks(body: UploadBody) -> Iterator[bytes | bytearray | memoryview]:
    """``body`` in pieces of at most ``CHUNK`` bytes; its read errors come as SourceFailed."""
    if isinstance(body, bytes | bytearray | memoryview):
        yield body
        return
    while True:
        try:
            chunk = body.read(CHUNK)
        except OSError as exc:  # the source's failure, not the disk's
            raise SourceFailed(exc) from exc
        if not chunk:
            return
        yield chunk


def write_all(fd: int, data: bytes | bytearray | memoryview, at: int) -> None:
    """Write all of ``data`` to ``fd`` at offset ``at``."""
    view = memoryview(data).cast("B")
    while view:
        n = os.pwrite(fd, view, at)
        view = view[n:]
        at += n


def copy_window(window: FileWindow, fd: int, at: int) -> int:
    """Copy ``window`` into ``fd`` at offset ``at``; return the number of bytes copied.

    The copy stays inside the kernel (``os.copy_file_range``) where the OS and filesystems
    allow it, and goes through reads and writes where they do not.

    Raises:
        SourceChanged: The file is shorter than when the upload was planned.
    """
    copied = 0
    try:
        while copied < window.length:
            n = os.copy_file_range(
                window.fd, fd, window.length - copied, window.offset + copied, at + copied
            )
            if n == 0:
                break
            copied += n
    except (OSError, AttributeError):  # not Linux, or a filesystem pair without the call
        window.seek(copied)
        while chunk := window.read(CHUNK):
            write_all(fd, chunk, at + copied)
            copied += len(chunk)
    if copied < window.length:
        window.check_unchanged()
        msg = "the file is shorter than when its upload was planned"
        raise s3po.SourceChanged(msg, path=window.path)
    return copied


def make_folder(folder: Path, bucket: str, key: str) -> None:
    """Create ``folder`` and its parents, as another thread or process may remove them."""
    for _ in range(_MKDIR_TRIES):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError, FileNotFoundError):
            # An object where a folder must be, or a folder removed by a concurrent delete
            # between our creating it and its child: which one decides.
            if _blocked(folder):
                raise s3po.InvalidKey(
                    f"key {key!r} needs a folder where an object is stored in bucket "
                    f"{bucket!r}; the local backend cannot hold both 'a' and 'a/b'"
                ) from None
            continue
        except OSError as exc:
            raise store_error(exc, "create the folder", folder, bucket, key) from exc
        return
    raise s3po.TransientError(
        f"the folder {folder} was removed {_MKDIR_TRIES} times while a write made it",
        bucket=bucket,
        key=key,
        backend="local",
    )


def _blocked(folder: Path) -> bool:
    """Whether something other than a folder stands where ``folder`` or a parent must be."""
    for path in (folder, *folder.parents):
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        except OSError:
            return True
        return not stat.S_ISDIR(mode) and not (stat.S_ISLNK(mode) and path.is_dir())
    return False


def open_staging(folder: Path, bucket: str, key: str, *, make: bool) -> tuple[int, Path]:
    """Create a fresh staging file in ``folder``; return its descriptor and path.

    A concurrent delete can remove an emptied folder between its creation and the staging
    file's: the folder is then made again (``make``), or the error is a NotFound.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    for _ in range(_MKDIR_TRIES):
        if make:
            make_folder(folder, bucket, key)
        tmp = folder / f"{TMP}{uuid.uuid4().hex}"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except (FileNotFoundError, NotADirectoryError) as exc:
            if not make:
                raise s3po.NotFound(
                    f"the folder {folder} is gone", bucket=bucket, key=key, backend="local"
                ) from exc
        except OSError as exc:
            raise store_error(exc, "create a staging file in", folder, bucket, key) from exc
    raise s3po.TransientError(
        f"the folder {folder} was removed {_MKDIR_TRIES} times while a write began in it",
        bucket=bucket,
        key=key,
        backend="local",
    )


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``folder`` (between threads and processes alike).

    Every commit of an object and every delete renames or unlinks under it, so a
    conditional write's check and its rename are one step for every other s3po writer.
    The folder cannot vanish meanwhile: the staging file inside keeps it non-empty.
    """
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def _place(
    tmp: Path,
    target: Path,
    condition: WriteCondition | None,
    current: Callable[[], str | None] | None,
    bucket: str,
    key: str,
) -> None:
    """Rename ``tmp`` onto ``target`` under the folder's lock, if ``condition`` holds.

    ``If-None-Match: *`` links the staging file to the target (``link(2)`` never replaces,
    so even a writer that takes no lock cannot be overwritten), then drops the staging
    name; a file already there that is no object (no record) is replaced as any put does.
    ``If-Match`` reads the current ETag and renames while holding the lock.
    """
    with folder_lock(target.parent):
        if condition is not None and current is not None:
            if condition.if_none_match:
                try:
                    os.link(tmp, target, follow_symlinks=False)
                except FileExistsError:
                    emulation.check_write(condition, current(), bucket, key, "local")
                else:
                    tmp.unlink()
                    return
            else:
                emulation.check_write(condition, current(), bucket, key, "local")
        tmp.replace(target)


def commit(
    target: Path,
    fill: Callable[[int], None],
    seal: Callable[[int], None],
    bucket: str,
    key: str,
    *,
    durable: bool,
    make: bool = True,
    condition: WriteCondition | None = None,
    current: Callable[[], str | None] | None = None,
) -> None:
    """Write ``target`` as one atomic step: stage, fill, seal, fsync, rename, fsync folder.

    Args:
        target: The final path.
        fill: Writes the body into the staging file's descriptor (its own errors pass
            through untranslated: a failing source is the caller's, not the disk's).
        seal: Attaches the record to the staging file (an xattr) and runs last checks
            (a window's source unchanged); it may raise to abandon the commit.
        bucket: For messages.
        key: For messages.
        durable: fsync the file before the rename and its folder after.
        make: Create the target's folder if missing.
        condition: Rename only if it holds for the ETag ``current()`` reads (None: no
            object), checked and renamed under the folder's lock (see :func:`_place`).
        current: Reads the ETag of the object at ``target`` now.

    Raises:
        InvalidKey: The target is a folder of other keys.
        PreconditionFailed: ``condition`` does not hold; the staging file is removed.
        BackendError: The disk refused (ENOSPC, EIO, EROFS...); nothing was committed.
    """
    if target.is_dir() and not target.is_symlink():
        raise s3po.InvalidKey(
            f"key {key!r} names a folder of other keys in bucket {bucket!r}; "
            "the local backend cannot hold both 'a' and 'a/b'"
        )
    fd, tmp = open_staging(target.parent, bucket, key, make=make)
    try:
        try:
            fill(fd)
            seal(fd)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        try:
            _place(tmp, target, condition, current, bucket, key)
        except IsADirectoryError:
            raise s3po.InvalidKey(
                f"key {key!r} names a folder of other keys in bucket {bucket!r}; "
                "the local backend cannot hold both 'a' and 'a/b'"
            ) from None
    except SourceFailed as failed:
        _discard(tmp)
        raise failed.error from None
    except s3po.S3poError:  # typed already (some are OSErrors too: AccessDenied, NotFound)
        _discard(tmp)
        raise
    except OSError as exc:
        _discard(tmp)
        raise store_error(exc, "write", target, bucket, key) from exc
    except BaseException:
        _discard(tmp)
        raise
    if durable:
        fsync_folder(target.parent)


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):  # a failing disk: cleanup removes it later
        tmp.unlink(missing_ok=True)


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: some filesystems refuse)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
