"""The machinery under :class:`~s3po_local.LocalBackend`: paths, the sandbox, commits, reads.

:class:`Store` holds what the public methods share: turning a bucket and key into paths that
cannot leave the root, opening an object with its record from one descriptor, and
committing a body with its record in one rename (see the package docstring for the
protocol). The staging files and record files a crash leaves are found and removed here.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import s3po
from s3po.backend import (
    Capabilities,
    FileWindow,
    Headers,
    MultipartUpload,
    ObjectInfo,
    WriteCondition,
)

from ._files import TMP, chunks, commit, copy_window, os_errors, store_error, write_all
from ._records import RecordGone, Records, corrupt, info_from, make_record, read_legacy

if TYPE_CHECKING:
    from s3po.backend import UploadBody

META_DIR = ".s3po"
_OPEN_TRIES = 3


def when(mtime: float) -> dt.datetime:
    """A file time as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(mtime, dt.UTC)


class Store:
    """Paths, reads and commits of a local store; :class:`~s3po_local.LocalBackend` adds S3's verbs.

    Attributes:
        root: The resolved root folder.
        fsync: Whether commits flush to disk.
        etag: ``"md5"`` or ``"opaque"``.
    """

    name = "local"
    capabilities = Capabilities()
    root: Path
    fsync: bool
    etag: str
    create_buckets: bool
    _records: Records
    _legacy: bool
    _max_segment: int

    # -- paths ----------------------------------------------------------------------------

    def _inside(self, path: Path, bucket: str, key: str | None) -> None:
        """Refuse ``path`` unless it resolves inside the root and outside ``.s3po``."""
        real = path.resolve()
        if real == self.root or not real.is_relative_to(self.root):
            raise s3po.AccessDenied(
                f"{path} resolves to {real}, outside the local root {self.root} (a symbolic "
                "link?); the local backend does not follow links out of its root",
                bucket=bucket,
                key=key,
                backend=self.name,
            )
        if real.is_relative_to(self.root / META_DIR) and not path.is_relative_to(
            self.root / META_DIR
        ):
            raise s3po.AccessDenied(
                f"{path} resolves into the local backend's own folder {self.root / META_DIR}",
                bucket=bucket,
                key=key,
                backend=self.name,
            )

    def _meta(self, bucket: str, key: str | None = None) -> Path:
        """``root/.s3po``, refused if it is a link out of the root."""
        meta = self.root / META_DIR
        if meta.resolve() != meta:
            raise s3po.AccessDenied(
                f"{meta} is a symbolic link to {meta.resolve()}; the local backend keeps its "
                "own state only inside its root",
                bucket=bucket,
                key=key,
                backend=self.name,
            )
        return meta

    def _bucket(self, bucket: str, *, create: bool = False) -> Path:
        s3po.check_bucket(bucket)
        path = self.root / bucket
        if path.is_symlink():  # checked first: a dangling link must not be created through
            self._inside(path, bucket, None)
        if not path.is_dir():
            if not create:
                raise s3po.NoSuchBucket(
                    f"bucket {bucket!r} does not exist under {self.root}; create it with "
                    "create_bucket()",
                    bucket=bucket,
                    backend=self.name,
                )
            with os_errors("create the bucket folder", path, bucket, None):
                path.mkdir(parents=True, exist_ok=True)
        self._inside(path, bucket, None)
        return path

    def _parts(self, bucket: str, key: str) -> list[str]:
        s3po.check_key(key)
        parts = key.split("/")
        for part in parts:
            if part in {"", ".", ".."} or part.startswith((TMP, META_DIR)):
                why = (
                    "would escape the local root"
                    if part in {".", ".."} or key.startswith("/")
                    else "has an empty path segment, which a filesystem cannot hold"
                    if part == ""
                    else "uses a name the local backend reserves"
                )
                raise s3po.InvalidKey(f"key {key!r} {why} (bucket {bucket!r})")
            if len(part.encode("utf-8")) > self._max_segment:
                raise s3po.InvalidKey(
                    f"key {key!r} has a path segment longer than {self._max_segment} bytes, "
                    f"which the local backend cannot store as a file name (bucket {bucket!r})"
                )
        return parts

    def _paths(self, bucket: str, key: str, *, create: bool = False) -> tuple[Path, Path]:
        """The object's file and (for stores from before 0.2) its JSON record's path."""
        parts = self._parts(bucket, key)
        base = self._bucket(bucket, create=create and self.create_buckets)
        data = base.joinpath(*parts)
        # The folder must not lead out of the root; the file itself is never followed
        # (reads open it with O_NOFOLLOW, a rename or unlink replaces a link, not its target).
        self._inside(data.parent, bucket, key)
        # Folders of the old record tree end in ".d" and files in ".json", so key "a" and
        # keys under "a.json/" never collide there.
        folders = [f"{p}.d" for p in parts[:-1]]
        meta = self.root.joinpath(META_DIR, "meta", bucket, *folders, parts[-1] + ".json")
        return data, meta

    # -- reading --------------------------------------------------------------------------

    def _no_key(self, bucket: str, key: str) -> s3po.NoSuchKey:
        return s3po.NoSuchKey(
            f"no object {key!r} in bucket {bucket!r}", bucket=bucket, key=key, backend=self.name
        )

    def _open(self, bucket: str, key: str) -> tuple[int, ObjectInfo]:
        """Open the object; its descriptor and the record read from that descriptor."""
        data, meta = self._paths(bucket, key)
        if self._legacy:
            self._meta(bucket, key)
        for _ in range(_OPEN_TRIES):
            try:
                fd = os.open(data, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            except (FileNotFoundError, NotADirectoryError):
                raise self._no_key(bucket, key) from None
            except OSError as exc:
                if exc.errno == errno.ELOOP:  # a symbolic link is not an object
                    raise self._no_key(bucket, key) from None
                raise store_error(exc, "open", data, bucket, key) from exc
            try:
                info = self._describe_fd(fd, data, meta, bucket, key)
            except RecordGone:  # replaced since we opened it: open the new version
                os.close(fd)
                continue
            except BaseException:
                os.close(fd)
                raise
            return fd, info
        raise corrupt(bucket, key, "its record file keeps disappearing")

    def _current_etag(self, bucket: str, key: str) -> str | None:
        """The ETag of the object at the key now; None if there is none (or no record)."""
        try:
            fd, info = self._open(bucket, key)
        except s3po.NoSuchKey:
            return None
        os.close(fd)
        return info.etag

    def _describe_fd(self, fd: int, data: Path, meta: Path, bucket: str, key: str) -> ObjectInfo:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise self._no_key(bucket, key)
        with os_errors("read the record of", data, bucket, key):
            record = self._records.read(fd, bucket, key)
        if record is None and self._legacy:
            record = read_legacy(meta, bucket, key)
        if record is None:
            raise self._no_key(bucket, key)
        info = info_from(bucket, key, record)
        if info.size != st.st_size:
            raise s3po.CorruptData(
                f"the stored file {data} has {st.st_size} bytes, not the {info.size} its "
                "record says; it was changed outside s3po: upload it again, or delete it",
                bucket=bucket,
                key=key,
                backend=self.name,
            )
        return info

    # -- writing --------------------------------------------------------------------------

    def _filler(
        self, body: UploadBody
    ) -> tuple[Callable[[int], int], Callable[[], str], FileWindow | None]:
        """How to write ``body`` into a staging file: the fill, its ETag, and its window."""
        md5 = hashlib.md5() if self.etag == "md5" else None  # noqa: S324 - S3's ETag is an MD5

        def etag() -> str:
            return md5.hexdigest() if md5 is not None else uuid.uuid4().hex

        if isinstance(body, FileWindow):
            window = body

            def copy(fd: int) -> int:
                if md5 is not None:
                    for view in window.views():
                        md5.update(view)
                return copy_window(window, fd, 0)

            return copy, etag, window

        def write(fd: int) -> int:
            size = 0
            for chunk in chunks(body):
                if md5 is not None:
                    md5.update(chunk)
                write_all(fd, chunk, size)
                size += len(chunk)
            return size

        return write, etag, None

    def _commit(
        self,
        target: Path,
        fill: Callable[[int], int],
        etag: Callable[[], str],
        record: Callable[[int, str], dict[str, Any]],
        bucket: str,
        key: str,
        *,
        window: FileWindow | None = None,
        durable: bool = True,
        make: bool = True,
        condition: WriteCondition | None = None,
    ) -> dict[str, Any]:
        """Commit what ``fill(fd) -> size`` writes to ``target``, with its record.

        ``record(size, etag)`` builds the record set on the staging file before its rename;
        a window's source is checked unchanged then. ``condition`` is checked against the
        object at ``bucket``/``key`` under the folder's lock, in the step that renames.
        Returns the record.
        """
        state: dict[str, Any] = {}

        def write(fd: int) -> None:
            state["size"] = fill(fd)

        def seal(fd: int) -> None:
            if window is not None:
                window.check_unchanged()
            state["record"] = record(state["size"], etag())
            state["version"] = self._records.seal(fd, bucket, key, state["record"])

        old = self._records.ref_of(target)
        try:
            commit(
                target,
                write,
                seal,
                bucket,
                key,
                durable=durable and self.fsync,
                make=make,
                condition=condition,
                current=lambda: self._current_etag(bucket, key),
            )
        except BaseException:
            self._records.drop(bucket, state.get("version"))
            raise
        self._records.drop(bucket, old)
        record_: dict[str, Any] = state["record"]
        return record_

    def _store(
        self,
        bucket: str,
        key: str,
        fill: Callable[[int], int],
        etag: Callable[[], str],
        headers: Headers,
        window: FileWindow | None = None,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        data, meta = self._paths(bucket, key, create=True)

        def record(size: int, digest: str) -> dict[str, Any]:
            return make_record(size, digest, headers)

        stored = self._commit(
            data, fill, etag, record, bucket, key, window=window, condition=condition
        )
        if self._legacy:
            meta.unlink(missing_ok=True)  # the old JSON record no longer describes the file
        return info_from(bucket, key, stored)

    def _walk(
        self, base: Path, prefix: str, bucket: str, *, staging: bool = False
    ) -> Iterator[str]:
        """The keys (or, with ``staging``, the staging files) under ``prefix``."""
        folder, _, _ = prefix.rpartition("/")
        start = base.joinpath(*folder.split("/")) if folder else base
        if ".." in folder.split("/") or not start.is_dir() or start.is_symlink():
            return

        def failed(exc: OSError) -> None:
            if not isinstance(exc, FileNotFoundError | NotADirectoryError):  # removed meanwhile
                raise store_error(exc, "list", exc.filename, bucket, None) from exc

        for dirpath, dirnames, filenames in os.walk(start, onerror=failed):
            dirnames[:] = [d for d in dirnames if not d.startswith(TMP)]
            rel = Path(dirpath).relative_to(base).as_posix()
            for name in filenames:
                if name.startswith(TMP) != staging:
                    continue
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix):
                    yield key

    # -- multipart ------------------------------------------------------------------------

    def _leftovers(self, base: Path, bucket: str, prefix: str) -> Iterator[MultipartUpload]:
        for rel in self._walk(base, prefix, bucket, staging=True):
            try:
                mtime = (base / rel).lstat().st_mtime
            except FileNotFoundError:  # committed or removed meanwhile
                continue
            upload_id = "staging" + rel.rpartition("/")[2].removeprefix(TMP).replace("-", "")
            yield MultipartUpload(bucket, rel, upload_id, when(mtime))

        def owner(key: str) -> Path | None:
            try:
                return self._paths(bucket, key)[0]
            except s3po.S3poError:
                return None

        for key, version, mtime in self._records.orphans(bucket, owner):
            if key.startswith(prefix):
                yield MultipartUpload(bucket, key, "record" + version, when(mtime))

    def _remove_leftover(self, bucket: str, key: str, upload_id: str) -> None:
        if upload_id.startswith("record"):
            version = upload_id.removeprefix("record")
            owner = None if key.startswith(META_DIR) else self._paths(bucket, key)[0]
            if owner is None or self._records.ref_of(owner) != version:
                self._records.drop(bucket, version)
            return
        folder, _, name = key.rpartition("/")
        if not name.startswith(TMP) or "staging" + name.removeprefix(TMP).replace("-", "") != (
            upload_id
        ):
            raise s3po.NoSuchUpload(f"no staging file {key!r}", bucket=bucket, key=key)
        base = self._bucket(bucket)
        path = base.joinpath(*folder.split("/"), name) if folder else base / name
        self._inside(path, bucket, key)
        with os_errors("remove the staging file", path, bucket, key):
            path.unlink(missing_ok=True)
