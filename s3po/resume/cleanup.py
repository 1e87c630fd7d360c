"""The journals on disk, as ``s3po cleanup`` lists and removes them.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import pathlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from s3po.resume.journal import Journal, journal_dir
from s3po.resume.lock import JournalLock

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

__all__ = ["JournalEntry", "busy_uploads", "journals", "remove_journal", "stale_journals"]

log = logging.getLogger("s3po.resume")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A journal found on disk, as ``s3po cleanup`` lists it.

    Attributes:
        path: The journal file.
        kind: ``upload``, ``download``, or ``damaged`` (unreadable: removed by any cleanup).
        store: The store it was written for (the backend's repr).
        bucket: The bucket.
        key: The key.
        local: The local file uploaded, or the destination downloaded to.
        upload_id: The upload it continues (uploads), else None.
        partial: The partial file (downloads), else None.
        created: When the transfer began.
        in_use: Whether a running transfer holds the journal's lock (when it was listed):
            cleanup leaves it, and the upload it names, alone.

    .. versionadded:: 0.4.0

    .. versionchanged:: 0.4.0
       ``in_use``.
    """

    path: pathlib.Path
    kind: str
    store: str
    bucket: str
    key: str
    local: str
    upload_id: str | None = None
    partial: str | None = None
    created: dt.datetime | None = None
    in_use: bool = False


def journals(folder: pathlib.Path | None = None) -> Iterator[JournalEntry]:
    """Every journal in ``folder`` (default: :func:`journal_dir`), damaged ones included.

    .. versionadded:: 0.4.0
    """
    where = folder or journal_dir()
    if not where.is_dir():
        return
    for file in sorted(where.glob("*.jsonl")):
        journal = Journal(file)
        header = journal.header if journal.load() else {}
        created = None
        with contextlib.suppress(TypeError, ValueError):
            created = dt.datetime.fromisoformat(header["created"])
        if created is None:
            with contextlib.suppress(OSError):
                created = dt.datetime.fromtimestamp(file.stat().st_mtime, dt.UTC)
        yield JournalEntry(
            path=file,
            kind=str(header.get("kind", "damaged")),
            store=str(header.get("store", "")),
            bucket=str(header.get("bucket", "")),
            key=str(header.get("key", "")),
            local=str(header.get("path", "")),
            upload_id=header.get("upload_id"),
            partial=header.get("partial"),
            created=created,
            in_use=JournalLock(file).in_use(),
        )


def stale_journals(
    store: str,
    bucket: str,
    prefix: str = "",
    *,
    older_than: dt.timedelta | None = None,
    aborted: Collection[str] = (),
    folder: pathlib.Path | None = None,
) -> list[JournalEntry]:
    """The journals ``s3po cleanup`` removes for ``store``'s ``bucket``/``prefix``.

    Those begun before ``older_than`` ago (None: all), those naming an upload in
    ``aborted`` (whatever their age: their upload is gone), and damaged ones; never one a
    running transfer holds locked (:attr:`JournalEntry.in_use`).

    .. versionadded:: 0.4.0

    .. versionchanged:: 0.4.0
       Journals in use are left out.
    """
    now = dt.datetime.now(dt.UTC)
    found = []
    for entry in journals(folder):
        if entry.in_use:
            log.info("leaving the resume journal %s alone: a transfer is using it", entry.path)
            continue
        if entry.kind == "damaged":
            found.append(entry)
            continue
        if entry.store != store or entry.bucket != bucket or not entry.key.startswith(prefix):
            continue
        young = older_than is not None and entry.created is not None
        if entry.upload_id in aborted or not (young and now - entry.created < older_than):  # type: ignore[operator]
            found.append(entry)
    return found


def busy_uploads(folder: pathlib.Path | None = None) -> set[str]:
    """The upload ids named by journals a running transfer holds locked (not to abort).

    .. versionadded:: 0.4.0
    """
    return {e.upload_id for e in journals(folder) if e.in_use and e.upload_id}


def remove_journal(entry: JournalEntry) -> bool:
    """Delete a journal and the partial file a download left beside its destination.

    The journal's lock is held while they are removed; a journal a running transfer holds
    is left as it is.

    Returns:
        Whether it was removed (False: a transfer is using it).

    .. versionadded:: 0.4.0

    .. versionchanged:: 0.4.0
       Takes the journal's lock, and returns whether it was removed.
    """
    lock = JournalLock(entry.path)
    if not lock.acquire():
        log.info("leaving the resume journal %s alone: a transfer is using it", entry.path)
        return False
    try:
        if entry.partial:
            pathlib.Path(entry.partial).unlink(missing_ok=True)
        entry.path.unlink(missing_ok=True)
    finally:
        lock.release()
    return True
