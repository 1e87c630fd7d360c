"""The fsspec backend's medium for :class:`~s3po.backend.multipart.MultipartEmulation`.

An upload is the folder ``<bucket>/.s3po/uploads/<id>/`` of the filesystem: its record in
``upload.json``, and each part a file ``part-NNNNN`` with its part record beside it in
``part-NNNNN.json``, written after the part. Completing joins the parts into the object's
file, checking each against the ETag its record gave (a part uploaded again meanwhile is
refused), and the backend then writes the object's record.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from s3po.backend import Headers, ObjectInfo, PartBody, PartInfo, WriteCondition
from s3po.backend.multipart import PartChanged, part_name, part_number

from ._errors import fs_errors

_RECORD = "upload.json"
_MISSING = (FileNotFoundError, IsADirectoryError, NotADirectoryError)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag is an MD5


class FsspecParts:
    """Uploads kept in folders of the filesystem (a :class:`PartStore`).

    Args:
        fs: The filesystem.
        folder: The folder of a bucket's uploads.
        target: The path of an object's file.
        commit: Writes the object's record: ``commit(bucket, key, size, etag, headers)``.
        guard: ``guard(bucket, key, condition)`` holds the key's write lock and checks the
            condition (the backend's); the object's file and record are written inside it.
    """

    def __init__(
        self,
        fs: Any,  # noqa: ANN401 - any fsspec AbstractFileSystem
        folder: Callable[[str], str],
        target: Callable[[str, str], str],
        commit: Callable[[str, str, int, str, Headers], ObjectInfo],
        guard: Callable[[str, str, WriteCondition | None], AbstractContextManager[None]],
    ) -> None:
        """Keep uploads on ``fs`` in ``folder(bucket)``."""
        self._guard = guard
        self._fs = fs
        self._folder = folder
        self._target = target
        self._commit = commit

    def __repr__(self) -> str:
        """Show the filesystem."""
        return f"FsspecParts(protocol={getattr(self._fs, 'protocol', '?')!r})"

    def _path(self, bucket: str, upload_id: str, name: str) -> str:
        return f"{self._folder(bucket)}/{upload_id}/{name}"

    def _read(self, bucket: str, key: str, path: str) -> bytes | None:
        with fs_errors(bucket, key, "read"):
            try:
                return bytes(self._fs.cat_file(path))
            except _MISSING:
                return None

    def create_upload(self, bucket: str, key: str, upload_id: str, record: bytes) -> None:
        """Write the upload's record (which makes its folder)."""
        with fs_errors(bucket, key, "start an upload of"):
            self._fs.pipe_file(self._path(bucket, upload_id, _RECORD), record)

    def read_upload(self, bucket: str, key: str, upload_id: str) -> bytes | None:
        """The upload's record; None if there is none."""
        return self._read(bucket, key, self._path(bucket, upload_id, _RECORD))

    def write_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        data: PartBody,
        record: bytes,
    ) -> None:
        """Write the part, then its record (a window is read whole, and checked)."""
        blob = bytes(data)
        path = self._path(bucket, upload_id, part_name(number))
        with fs_errors(bucket, key, "upload a part of"):
            self._fs.pipe_file(path, blob)
            self._fs.pipe_file(f"{path}.json", record)

    def read_part(self, bucket: str, key: str, upload_id: str, number: int) -> bytes | None:
        """The part's record; None if the part was never stored."""
        path = self._path(bucket, upload_id, part_name(number))
        record = self._read(bucket, key, f"{path}.json")
        if record is not None:
            return record
        # A part written before records were kept beside parts: its record from its bytes.
        blob = self._read(bucket, key, path)
        if blob is None:
            return None
        return json.dumps({"etag": _md5(blob), "size": len(blob)}).encode()

    def part_numbers(self, bucket: str, key: str, upload_id: str) -> list[int]:
        """The numbers of the part files in the upload's folder."""
        with fs_errors(bucket, key, "list the parts of"):
            try:
                entries = self._fs.ls(f"{self._folder(bucket)}/{upload_id}", detail=False)
            except _MISSING:
                return []
        names = (str(entry).rstrip("/").rsplit("/", 1)[-1] for entry in entries)
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
        """Write the parts into the object's file in order, then the object's record.

        ``condition`` is checked before the object's file is touched, under the key's lock.
        """
        total = 0
        target = self._target(bucket, key)
        with self._guard(bucket, key, condition):
            with (
                fs_errors(bucket, key, "complete an upload of"),
                self._fs.open(target, "wb") as out,
            ):
                for part in parts:
                    name = part_name(part.part_number)
                    blob = self._fs.cat_file(self._path(bucket, upload_id, name))
                    if _md5(blob) != part.etag:
                        raise PartChanged(part.part_number)
                    out.write(blob)
                    total += len(blob)
            return self._commit(bucket, key, total, etag, headers)

    def remove_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Remove the upload's folder."""
        with fs_errors(bucket, key, "remove an upload of"), contextlib.suppress(*_MISSING):
            self._fs.rm(f"{self._folder(bucket)}/{upload_id}", recursive=True)

    def list_uploads(self, bucket: str) -> Iterator[tuple[str, bytes | None, dt.datetime | None]]:
        """Every upload folder of ``bucket``, with its record (if readable) and time."""
        with fs_errors(bucket, None, "list the uploads of"):
            try:
                entries = self._fs.ls(self._folder(bucket), detail=False)
            except _MISSING:
                entries = []
        for entry in entries:
            upload_id = entry.rstrip("/").rsplit("/", 1)[-1]
            raw = self._read(bucket, upload_id, f"{entry.rstrip('/')}/{_RECORD}")
            yield upload_id, raw, self._modified(entry)

    def _modified(self, path: str) -> dt.datetime | None:
        try:
            when = self._fs.modified(path)
        except (NotImplementedError, OSError, ValueError, KeyError):
            return None
        if not isinstance(when, dt.datetime):
            return None
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
