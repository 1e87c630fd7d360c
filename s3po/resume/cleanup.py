"""The journals on disk, as ``s3po cleanup`` lists and removes them.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
import datetime as dt
import pathlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from s3po.resume.journal import Journal, journal_dir

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

__all__ = ["JournalEntry", "journals", "remove_journal", "stale_journals"]


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

    .. versionadded:: 0.4.0
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
    ``aborted`` (whatever their age: their upload is gone), and damaged ones.

    .. versionadded:: 0.4.0
    """
    now = dt.datetime.now(dt.UTC)
    found = []
    for entry in journals(folder):
        if entry.kind == "damaged":
            found.append(entry)
            continue
        if entry.store != store or entry.bucket != bucket or not entry.key.startswith(prefix):
            continue
        young = older_than is not None and entry.created is not None
        if entry.upload_id in aborted or not (young and now - entry.created < older_than):  # type: ignore[operator]
            found.append(entry)
    return found


def remove_journal(entry: JournalEntry) -> None:
    """Delete a journal and the partial file a download left beside its destination.

    .. versionadded:: 0.4.0
    """
    if entry.partial:
        pathlib.Path(entry.partial).unlink(missing_ok=True)
    entry.path.unlink(missing_ok=True)
