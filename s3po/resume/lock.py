"""Journal locks: one process at a time continues a journaled transfer.

A journal's lock is an ``flock`` on a file beside it (``<journal>.lock``), taken without
waiting when a resumable transfer begins and held until it ends (completed, aborted, or
interrupted with its state kept). Another process, or another thread of this one, that
finds it held gets :class:`~s3po.TransferInProgress` rather than sending the same parts or
writing the same partial file at the same time. ``s3po cleanup`` takes the same lock before
it removes a journal, so a journal in use is never removed.

The kernel drops an ``flock`` when its holder exits, SIGKILL included, so a lock is never
left held by a process that is gone. The lock file is removed by its holder while it still
holds the lock; a process that locked a file removed meanwhile sees that the path no longer
names it, and locks the new one instead.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from typing import TYPE_CHECKING, Self

from s3po.errors import TransferInProgress

if TYPE_CHECKING:
    import pathlib
    from types import TracebackType

__all__ = ["JournalLock", "lock_path"]

log = logging.getLogger("s3po.resume")


def lock_path(journal: pathlib.Path) -> pathlib.Path:
    """The lock file of the journal at ``journal``.

    .. versionadded:: 0.4.0
    """
    return journal.with_name(journal.name + ".lock")


class JournalLock:
    """The inter-process lock of one journal.

    Use :meth:`acquire` (False when another holder has it) and :meth:`release`, or the lock
    as a context manager, which raises :class:`~s3po.TransferInProgress` when it is held.

    Attributes:
        journal: The journal the lock guards.
        path: The lock file.

    .. versionadded:: 0.4.0
    """

    def __init__(
        self, journal: pathlib.Path, *, bucket: str | None = None, key: str | None = None
    ) -> None:
        """The lock of ``journal`` (not taken yet); ``bucket`` and ``key`` name its object."""
        self.journal = journal
        self.path = lock_path(journal)
        self._bucket = bucket
        self._key = key
        self._fd = -1

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd >= 0

    def acquire(self) -> bool:
        """Take the lock without waiting; False if someone else holds it."""
        if self._fd >= 0:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException:
                os.close(fd)
                raise
            # The holder before removed the file while holding it: this lock is on a file
            # no one else can find; take the one the path names now.
            mine = os.fstat(fd)
            try:
                now = self.path.stat()
            except FileNotFoundError:
                now = None
            if now is not None and (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
                self._fd = fd
                return True
            os.close(fd)

    def release(self) -> None:
        """Remove the lock file and let the lock go (nothing if not held)."""
        if self._fd < 0:
            return
        fd, self._fd = self._fd, -1
        try:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        finally:
            os.close(fd)

    def in_use(self) -> bool:
        """Whether another holder has the lock now (taken and let go at once to find out)."""
        if self._fd >= 0:
            return False
        if not self.path.exists():
            return False
        if not self.acquire():
            return True
        self.release()
        return False

    def __enter__(self) -> Self:
        """Take the lock, or raise TransferInProgress if another holder has it."""
        if not self.acquire():
            where = f"s3://{self._bucket}/{self._key}" if self._bucket else "this transfer"
            raise TransferInProgress(
                f"another process (or thread) is already resuming the transfer of {where}: "
                f"its journal {self.journal} is locked ({self.path}); wait for it to finish, "
                "or run this transfer without resume",
                journal=str(self.journal),
                lock=str(self.path),
                bucket=self._bucket,
                key=self._key,
            )
        log.debug("locked the resume journal %s", self.journal)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Let the lock go."""
        self.release()
