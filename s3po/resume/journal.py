"""Journals: the small files that record a resumable transfer's progress.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import pathlib
import threading
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from s3po.backend.bodies import FileWindow
from s3po.backend.checksums import crc
from s3po.backend.protocol import ForwardingBackend
from s3po.errors import Cancelled, RetriesExhausted, TransientError
from s3po.resume.lock import JournalLock

if TYPE_CHECKING:
    from s3po.backend.bodies import FileIdentity, PartBody
    from s3po.backend.protocol import Backend

__all__ = [
    "DownloadJournal",
    "Journal",
    "StoredPart",
    "UploadJournal",
    "journal_dir",
    "keeps_state",
    "part_md5",
    "store_name",
]

log = logging.getLogger("s3po.resume")

#: The journal format's version; a journal of another version is not used.
_VERSION = 1


def journal_dir() -> pathlib.Path:
    """Where journals are kept: ``$XDG_CACHE_HOME/s3po/resume``, else ``~/.cache/s3po/resume``.

    .. versionadded:: 0.4.0
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(base) / "s3po" / "resume"


def keeps_state(exc: BaseException) -> bool:
    """Whether a transfer that raised ``exc`` keeps its resumable state (when resume is on).

    An interruption keeps it: Ctrl-C, a cancelled scope, a network that failed for good.
    Anything else (the file changed, the request was refused) discards it.

    .. versionadded:: 0.4.0
    """
    kept = (KeyboardInterrupt, SystemExit, Cancelled, TransientError, RetriesExhausted)
    return isinstance(exc, kept)


def part_md5(data: PartBody) -> str:
    """The MD5 of a part (what S3 makes its ETag), read with ``pread`` for a file window.

    .. versionadded:: 0.4.0
    """
    digest = hashlib.md5()  # noqa: S324 - S3's part ETag is an MD5
    if isinstance(data, FileWindow):
        whole = data.window(0, len(data))  # a fresh window: the part's own stays unread
        for view in whole.views():
            digest.update(view)
    else:
        digest.update(data)
    return digest.hexdigest()


def part_crc_matches(data: PartBody, checksum: str, algorithm: str) -> bool:
    """Whether a planned part has the wire checksum a stored part declares (same algorithm).

    A file window is read through a fresh window, as :func:`part_md5` does.

    .. versionadded:: 0.4.0
    """
    algo = crc(algorithm)
    whole = data.window(0, len(data)) if isinstance(data, FileWindow) else data
    return algo.encode(algo.of(whole)) == checksum


def store_name(backend: Backend) -> str:
    """What names the store in a journal: the repr of the backend under any wrappers.

    .. versionadded:: 0.4.0
    """
    while isinstance(backend, ForwardingBackend):
        backend = backend.inner
    return repr(backend)


def _abs(path: str | os.PathLike[str]) -> str:
    return str(pathlib.Path(path).absolute())


def _name(*fields: str) -> str:
    return hashlib.sha256("\0".join(fields).encode()).hexdigest()[:32]


class Journal:
    """One transfer's journal file: a header line, then one line per finished piece.

    Attributes:
        path: The journal file.
        header: What the journal describes (read by :meth:`load`, written by :meth:`begin`).
        pieces: The finished pieces read by :meth:`load` or appended since.

    .. versionadded:: 0.4.0
    """

    def __init__(self, path: pathlib.Path) -> None:
        """The journal at ``path`` (not read until :meth:`load`)."""
        self.path = path
        self.header: dict[str, Any] = {}
        self.pieces: list[dict[str, Any]] = []
        self._file: IO[str] | None = None
        self._lock = threading.Lock()

    def load(self) -> bool:
        """Read the journal; False if there is none (or it is not one of this version)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (FileNotFoundError, UnicodeDecodeError):
            return False
        except OSError as exc:
            log.warning("cannot read the resume journal %s (%s); starting over", self.path, exc)
            return False
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                break  # a torn last line: what came before stands
            if isinstance(record, dict):
                records.append(record)
        if not records or records[0].get("v") != _VERSION:
            return False
        self.header, self.pieces = records[0], records[1:]
        return True

    def begin(self, header: dict[str, Any]) -> None:
        """Start the journal afresh with ``header`` (replacing any before)."""
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.header = {"v": _VERSION, **header}
        self.pieces = []
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.header) + "\n", encoding="utf-8")
        tmp.replace(self.path)

    def add(self, piece: dict[str, Any]) -> None:
        """Append one finished piece (thread-safe; flushed, so a SIGKILL keeps it)."""
        line = json.dumps(piece, separators=(",", ":")) + "\n"
        with self._lock:
            if self._file is None:
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(line)
            self._file.flush()
            self.pieces.append(piece)

    def close(self) -> None:
        """Close the journal file; it stays on disk."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def remove(self) -> None:
        """Close and delete the journal."""
        self.close()
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class StoredPart:
    """A part the journal says was stored: its ETag, size, MD5, and declared checksum.

    The checksum is the one the backend declared for the part, which CompleteMultipartUpload
    must repeat and some stores' ListParts omit.
    """

    etag: str
    size: int
    md5: str
    checksum: str | None = None
    checksum_algorithm: str | None = None


@dataclass(slots=True)
class UploadJournal:
    """The resume state of one upload of one file to one key.

    Created by :class:`~s3po.Transfer` for ``upload_file(..., resume=True)`` and carried
    down the stack by the upload source; the codec layer adds its encoding
    (:meth:`encoded`), and the multipart layer finds, checks and records the upload
    through it.

    Attributes:
        store: The store the upload goes to (the backend's repr).
        bucket: The bucket.
        key: The key.
        path: The file uploaded.
        identity: The file's state when the upload began.
        encoding: The codec and level the parts are encoded with, or None.

    .. versionadded:: 0.4.0
    """

    store: str
    bucket: str
    key: str
    path: str
    identity: FileIdentity
    encoding: str | None = None
    folder: pathlib.Path = field(default_factory=journal_dir)
    journal: Journal = field(init=False)

    def __post_init__(self) -> None:
        """Place the journal by store, object and path."""
        name = _name("upload", self.store, self.bucket, self.key, _abs(self.path))
        self.journal = Journal(self.folder / f"{name}.up.jsonl")

    def lock(self) -> JournalLock:
        """The journal's inter-process lock, to hold while the upload runs."""
        return JournalLock(self.journal.path, bucket=self.bucket, key=self.key)

    def encoded(self, codec: str, level: int | None) -> UploadJournal:
        """The same upload's state, for the stream ``codec`` at ``level`` encodes."""
        return UploadJournal(
            self.store,
            self.bucket,
            self.key,
            self.path,
            self.identity,
            f"{codec}:{level}",
            self.folder,
        )

    def _expected(self, part_size: int, headers: str) -> dict[str, Any]:
        ident = self.identity
        return {
            "kind": "upload",
            "store": self.store,
            "bucket": self.bucket,
            "key": self.key,
            "path": _abs(self.path),
            "file": [ident.device, ident.inode, ident.size, ident.mtime_ns],
            "part_size": part_size,
            "encoding": self.encoding,
            "headers": headers,
        }

    def prior(self, part_size: int, headers: str) -> tuple[str | None, str | None]:
        """The upload id an earlier run journaled, and why it cannot be resumed (None: it can).

        Returns ``(None, None)`` when there is no journal.
        """
        if not self.journal.load():
            return None, None
        found = self.journal.header
        upload_id = found.get("upload_id")
        if not isinstance(upload_id, str):
            return None, "its journal is damaged"
        expected = self._expected(part_size, headers)
        for name, want in expected.items():
            if found.get(name) != want:
                return upload_id, _why_not(name, found.get(name), want)
        return upload_id, None

    def stored_parts(self) -> dict[int, StoredPart]:
        """The parts the journal records as stored, by number (the last record of each)."""
        parts: dict[int, StoredPart] = {}
        for piece in self.journal.pieces:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                value, algorithm = piece.get("checksum"), piece.get("checksum_algorithm")
                parts[int(piece["n"])] = StoredPart(
                    str(piece["etag"]),
                    int(piece["size"]),
                    str(piece["md5"]),
                    value if isinstance(value, str) else None,
                    algorithm if isinstance(algorithm, str) else None,
                )
        return parts

    def begin(self, upload_id: str, part_size: int, headers: str) -> None:
        """Journal a new upload."""
        now = dt.datetime.now(dt.UTC).isoformat()
        header = {**self._expected(part_size, headers), "upload_id": upload_id, "created": now}
        self.journal.begin(header)

    def part(
        self,
        number: int,
        size: int,
        etag: str,
        md5: str,
        checksum: str | None,
        checksum_algorithm: str | None = None,
    ) -> None:
        """Journal that part ``number`` is stored (with its wire checksum and its algorithm)."""
        piece: dict[str, object] = {"n": number, "size": size, "etag": etag, "md5": md5}
        if checksum is not None:
            piece["checksum"] = checksum
            if checksum_algorithm is not None:
                piece["checksum_algorithm"] = checksum_algorithm
        self.journal.add(piece)

    def finish(self) -> None:
        """The upload completed or was aborted: the journal goes."""
        self.journal.remove()

    def keep(self) -> None:
        """The upload was interrupted: the journal stays for the next run."""
        self.journal.close()


def _why_not(name: str, was: object, now: object) -> str:
    if name == "file":
        return "the file changed since (size, mtime or inode)"
    if name == "encoding":
        return (
            f"it was encoded as {was} and is now {now}; a compressed stream is resumable "
            "only with the same codec and level"
        )
    if name == "part_size":
        return f"its parts were {was} bytes and are now {now}"
    if name == "headers":
        return "its headers or metadata differ"
    return f"its {name} differs"


@dataclass(slots=True)
class DownloadJournal:
    """The resume state of one download of one object to one path.

    The partial file sits beside the destination (``.<name>.s3po-partial``), so the final
    rename stays in one folder; the journal records the object's ETag and size and every
    byte range written.

    Attributes:
        store: The store downloaded from (the backend's repr).
        bucket: The bucket.
        key: The key.
        path: The destination.

    .. versionadded:: 0.4.0
    """

    store: str
    bucket: str
    key: str
    path: pathlib.Path
    folder: pathlib.Path = field(default_factory=journal_dir)
    journal: Journal = field(init=False)

    def __post_init__(self) -> None:
        """Place the journal by store, object and path."""
        where = _abs(self.path)
        name = _name("download", self.store, self.bucket, self.key, where)
        self.journal = Journal(self.folder / f"{name}.down.jsonl")

    def lock(self) -> JournalLock:
        """The journal's inter-process lock, to hold while the download runs."""
        return JournalLock(self.journal.path, bucket=self.bucket, key=self.key)

    @property
    def partial(self) -> pathlib.Path:
        """The partial file beside the destination."""
        return self.path.with_name(f".{self.path.name}.s3po-partial")

    def prior(self, decompress: bool) -> tuple[str, int] | None:
        """The ETag and size an earlier run journaled, if its partial file is still there.

        None also when the earlier run decoded (or not) where this one does not.
        """
        if not self.journal.load() or not self.partial.is_file():
            return None
        header = self.journal.header
        etag, size = header.get("etag"), header.get("size")
        if header.get("kind") != "download" or not isinstance(etag, str) or not etag:
            return None
        if not isinstance(size, int) or header.get("decompress") != decompress:
            return None
        return etag, size

    def ranges(self) -> list[tuple[int, int]]:
        """The byte ranges journaled as written, merged and sorted."""
        spans = []
        for piece in self.journal.pieces:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                lo, hi = int(piece["lo"]), int(piece["hi"])
                if 0 <= lo < hi:
                    spans.append((lo, hi))
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(spans):
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        return merged

    def begin(self, etag: str, size: int, decompress: bool) -> None:
        """Journal a new download of the object at ``etag``."""
        self.journal.begin(
            {
                "kind": "download",
                "decompress": decompress,
                "store": self.store,
                "bucket": self.bucket,
                "key": self.key,
                "path": _abs(self.path),
                "partial": _abs(self.partial),
                "etag": etag,
                "size": size,
                "created": dt.datetime.now(dt.UTC).isoformat(),
            }
        )

    def restart(self) -> None:
        """Forget the ranges written: the download starts again from the start."""
        self.journal.begin({k: v for k, v in self.journal.header.items() if k != "v"})

    def written(self, lo: int, hi: int) -> None:
        """Journal that ``[lo, hi)`` is in the partial file."""
        self.journal.add({"lo": lo, "hi": hi})

    def finish(self) -> None:
        """The download completed (or is abandoned): the journal goes."""
        self.journal.remove()

    def keep(self) -> None:
        """The download was interrupted: the journal stays for the next run."""
        self.journal.close()
