"""Resumable transfers: the journals that let an interrupted upload or download continue.

A journal is a small JSON-lines file in the user's cache folder
(``$XDG_CACHE_HOME/s3po/resume``, else ``~/.cache/s3po/resume``), named by a hash of the
store, the object and the local path. Its first line describes the transfer; every later
line records one piece that was finished (a part stored, a range written). Lines are
appended and flushed as pieces finish, so a crash, a SIGKILL or a lost network loses at
most the pieces in flight; a torn last line is ignored.

The journals live in the cache folder, not beside the files, because the source folder may
be read-only or synced (a journal beside it would be uploaded by the next ``sync``), and
because ``s3po cleanup`` then finds every journal in one place.

A journal is only a hint. For an upload the store is the truth: the upload must still be
listed (ListMultipartUploads) and each part it holds (ListParts) is checked against the
file before it is skipped. For a download the object's ETag pins the ranges fetched
(If-Match), and the content checksum verifies the whole file at the end.

.. versionadded:: 0.4.0

A running transfer holds its journal's lock (an ``flock`` on ``<journal>.lock``, see
:mod:`s3po.resume.lock`): a second process resuming the same transfer at the same time gets
:class:`~s3po.TransferInProgress`, and ``s3po cleanup`` leaves a locked journal (and the
upload it names) alone.

A journal is only a hint. For an upload the store is the truth: the upload must still be
listed (ListMultipartUploads) and each part it holds (ListParts) is checked against the
file before it is skipped. For a download the object's ETag pins the ranges fetched
(If-Match), and the content checksum verifies the whole file at the end.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from s3po import _lazy

if TYPE_CHECKING:
    from s3po.resume.cleanup import (
        JournalEntry,
        busy_uploads,
        journals,
        remove_journal,
        stale_journals,
    )
    from s3po.resume.journal import (
        DownloadJournal,
        Journal,
        StoredPart,
        UploadJournal,
        journal_dir,
        keeps_state,
        part_crc_matches,
        part_md5,
        store_name,
    )
    from s3po.resume.lock import JournalLock, lock_path
    from s3po.resume.store import Resumable, find_upload, headers_digest, open_download

#: Where each public name lives; it is imported on first use (see :mod:`s3po._lazy`).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "s3po.resume.cleanup": (
        "JournalEntry",
        "busy_uploads",
        "journals",
        "remove_journal",
        "stale_journals",
    ),
    "s3po.resume.journal": (
        "DownloadJournal",
        "Journal",
        "StoredPart",
        "UploadJournal",
        "journal_dir",
        "keeps_state",
        "part_crc_matches",
        "part_md5",
        "store_name",
    ),
    "s3po.resume.lock": ("JournalLock", "lock_path"),
    "s3po.resume.store": ("Resumable", "find_upload", "headers_digest", "open_download"),
}

__all__ = [
    "DownloadJournal",
    "Journal",
    "JournalEntry",
    "JournalLock",
    "Resumable",
    "StoredPart",
    "UploadJournal",
    "busy_uploads",
    "find_upload",
    "headers_digest",
    "journal_dir",
    "journals",
    "keeps_state",
    "lock_path",
    "open_download",
    "part_crc_matches",
    "part_md5",
    "remove_journal",
    "stale_journals",
    "store_name",
]

_WHERE = _lazy.invert(_EXPORTS)


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whichever name is asked for
    """Import a public name on first use."""
    return _lazy.resolve(__name__, _WHERE, name)


def __dir__() -> list[str]:
    """The public names, imported or not."""
    return _lazy.listing(__name__, __all__)
