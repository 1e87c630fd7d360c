"""The local backend's medium for :class:`~s3po.backend.multipart.MultipartEmulation`.

An upload is the folder ``root/.s3po/uploads/<bucket>/<id>/``: its record in
``upload.json``, and each part a file ``part-NNNNN`` committed with its part record (in the
``user.s3po`` extended attribute) by one rename, as objects are. Parts are staging: they
are not fsynced (the object they make is), since an upload cut off by a crash could not be
completed anyway. Parts of uploads begun before 0.2 keep their ETag in ``part-NNNNN.md5``.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import s3po
from s3po.backend import FileWindow, Headers, ObjectInfo, PartBody, PartInfo, WriteCondition
from s3po.backend.multipart import PartChanged, UploadGone, part_name, part_number

from ._files import commit, copy_window, os_errors, write_all
from ._records import XATTR
from ._store import when

if TYPE_CHECKING:
    import datetime as dt

    class StoreObject(Protocol):
        """The backend's commit of an object (``Store._store``)."""

        def __call__(
            self,
            bucket: str,
            key: str,
            fill: Callable[[int], int],
            etag: Callable[[], str],
            headers: Headers,
            *,
            condition: WriteCondition | None = None,
        ) -> ObjectInfo: ...


_RECORD = "upload.json"


class LocalParts:
    """Uploads kept in folders under ``root/.s3po/uploads`` (a :class:`PartStore`).

    Args:
        folder: The folder of a bucket's uploads (checked inside the root).
        store: Commits an object: ``store(bucket, key, fill, etag, headers)``, as the
            backend's puts are committed.
        root: The store's root, for the repr.
    """

    def __init__(self, folder: Callable[[str], Path], store: StoreObject, root: Path) -> None:
        """Keep uploads in ``folder(bucket)``; commit objects with ``store``."""
        self._root = folder
        self._store = store
        self._where = root

    def __repr__(self) -> str:
        """Show where the uploads are."""
        return f"LocalParts({str(self._where)!r})"

    def create_upload(self, bucket: str, key: str, upload_id: str, record: bytes) -> None:
        """Make the upload's folder and commit its record (staging, like the parts)."""
        folder = self._root(bucket) / upload_id
        with os_errors("create the upload folder", folder, bucket, key):
            folder.mkdir(parents=True)

        def fill(fd: int) -> None:
            write_all(fd, record, 0)

        # A crash that loses it loses an upload that could not have been completed anyway;
        # a damaged one is listed for cleanup.
        commit(folder / _RECORD, fill, lambda _fd: None, bucket, key, durable=False)

    def read_upload(self, bucket: str, key: str, upload_id: str) -> bytes | None:
        """The upload's record; None if there is none."""
        path = self._root(bucket) / upload_id / _RECORD
        with os_errors("read the multipart upload record", path, bucket, key):
            try:
                return path.read_bytes()
            except (FileNotFoundError, NotADirectoryError):
                return None

    def write_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        data: PartBody,
        record: bytes,
    ) -> None:
        """Commit the part with its record in one rename (a window copied in the kernel)."""

        def fill(fd: int) -> None:
            if isinstance(data, FileWindow):
                copy_window(data, fd, 0)
            else:
                write_all(fd, data, 0)

        def seal(fd: int) -> None:
            if isinstance(data, FileWindow):
                data.check_unchanged()
            os.setxattr(fd, XATTR, record)

        target = self._root(bucket) / upload_id / part_name(number)
        try:
            commit(target, fill, seal, bucket, key, durable=False, make=False)
        except s3po.NotFound:
            raise UploadGone from None

    def _part_record(self, fd: int, path: Path) -> bytes:
        """The part record of the open part file ``fd``."""
        try:
            return os.getxattr(fd, XATTR)
        except OSError as exc:
            if exc.errno != errno.ENODATA:
                raise
        # A part of an upload begun before 0.2: its ETag beside it, its size its own.
        legacy = path.with_name(path.name + ".md5")
        try:
            etag = legacy.read_text(encoding="ascii")
        except (FileNotFoundError, UnicodeDecodeError):
            return b""  # a part file with no record: damaged
        return json.dumps({"etag": etag, "size": os.fstat(fd).st_size}).encode()

    def read_part(self, bucket: str, key: str, upload_id: str, number: int) -> bytes | None:
        """The part's record; None if the part was never stored."""
        path = self._root(bucket) / upload_id / part_name(number)
        with os_errors("read part of", path, bucket, key):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            except (FileNotFoundError, NotADirectoryError):
                return None
            try:
                return self._part_record(fd, path)
            finally:
                os.close(fd)

    def part_numbers(self, bucket: str, key: str, upload_id: str) -> list[int]:
        """The numbers of the part files in the upload's folder."""
        folder = self._root(bucket) / upload_id
        with os_errors("list the parts of", folder, bucket, key):
            try:
                names = [entry.name for entry in folder.iterdir()]
            except (FileNotFoundError, NotADirectoryError):
                return []
        return [n for n in map(part_number, names) if n is not None]

    def join_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        *,
        etag: str,
        headers: Headers,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Copy the parts (in the kernel) into the object's staging file; commit it.

        ``condition`` is checked as the object is renamed into place, under its lock.
        """
        folder = self._root(bucket) / upload_id
        fds: list[int] = []
        try:
            with os_errors("read the parts of", folder, bucket, key):
                try:
                    for part in parts:
                        path = folder / part_name(part.part_number)
                        fds.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW))
                        # The record from the descriptor that is copied: never another version.
                        try:
                            record = json.loads(self._part_record(fds[-1], path))
                        except ValueError:
                            record = None
                        if not isinstance(record, dict) or record.get("etag") != part.etag:
                            raise PartChanged(part.part_number)
                except (FileNotFoundError, NotADirectoryError):
                    raise UploadGone from None

            def join(out: int) -> int:
                size = 0
                for fd in fds:
                    size += copy_window(FileWindow(fd, 0, os.fstat(fd).st_size), out, size)
                return size

            return self._store(bucket, key, join, lambda: etag, headers, condition=condition)
        finally:
            for fd in fds:
                os.close(fd)

    def remove_upload(self, bucket: str, key: str, upload_id: str) -> None:  # noqa: ARG002
        """Remove the upload's folder."""
        shutil.rmtree(self._root(bucket) / upload_id, ignore_errors=True)

    def list_uploads(self, bucket: str) -> Iterator[tuple[str, bytes | None, dt.datetime | None]]:
        """Every upload folder of ``bucket``, with its record (if readable) and time."""
        folder = self._root(bucket)
        entries = list(folder.iterdir()) if folder.is_dir() else []
        for entry in entries:
            try:
                mtime = entry.lstat().st_mtime
            except FileNotFoundError:  # completed or aborted meanwhile
                continue
            try:
                raw: bytes | None = (entry / _RECORD).read_bytes()
            except OSError:  # cut off as it began
                raw = None
            yield entry.name, raw, when(mtime)
