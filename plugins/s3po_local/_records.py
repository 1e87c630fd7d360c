"""The record stored with each object: size, ETag, time and headers, kept on the file itself.

A record is JSON in the extended attribute ``user.s3po`` of the object's file, set on the
staging file before the rename that commits it, so a file and its record are one inode and
one reader ``open`` sees both of the same version. A record too large for an extended
attribute (ext4 holds about 4 KB per inode) is written to an immutable file named by a fresh
version id, ``root/.s3po/records/<bucket>/<version>.json``, fsynced before the commit, and the
attribute holds ``{"ref": version}``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import uuid
from pathlib import Path
from typing import Any

import s3po
from s3po.backend import Headers, ObjectInfo, emulation

from ._files import store_error, write_all

XATTR = "user.s3po"
#: Larger records go to a file at once; smaller ones too if the filesystem refuses them.
XATTR_MAX = 3800
_TOO_BIG = {errno.E2BIG, errno.ENOSPC, errno.ERANGE}


class RecordGone(Exception):
    """The record file a reader's object refers to is gone: the object was replaced."""


def make_record(size: int, etag: str, headers: Headers) -> dict[str, Any]:
    """A fresh record for an object written now."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return {
        "size": size,
        "etag": etag,
        "last_modified": now.isoformat(),
        "headers": emulation.headers_to_record(
            headers, default_type=emulation.DEFAULT_CONTENT_TYPE
        ),
    }


def corrupt(bucket: str, key: str, why: str) -> s3po.CorruptData:
    """The error of an object whose record cannot be used."""
    return s3po.CorruptData(
        f"the record of {key!r} in bucket {bucket!r} is damaged ({why}); the object cannot "
        "be read: upload it again, or delete it",
        bucket=bucket,
        key=key,
        backend="local",
    )


def info_from(bucket: str, key: str, record: object) -> ObjectInfo:
    """The ObjectInfo a record describes.

    Raises:
        CorruptData: The record is not one (empty, cut short, wrong fields).
    """
    try:
        if not isinstance(record, dict):
            raise TypeError(type(record).__name__)  # noqa: TRY301 - one handler for all shapes
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=int(record["size"]),
            etag=str(record["etag"]),
            last_modified=dt.datetime.fromisoformat(record["last_modified"]),
            headers=emulation.headers_from_record(record["headers"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise corrupt(bucket, key, f"{type(exc).__name__}: {exc}") from exc
    return info


def parse(raw: bytes, bucket: str, key: str) -> dict[str, Any]:
    """Decode a stored record (or reference); CorruptData if it is not JSON of an object."""
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise corrupt(bucket, key, "not JSON" if raw else "empty") from exc
    if not isinstance(record, dict):
        raise corrupt(bucket, key, "not a JSON object")
    return record


class Records:
    """The records of one store: extended attributes, and record files for large ones.

    Args:
        meta: ``root/.s3po``.
        fsync: Flush record files before they are referred to.
    """

    def __init__(self, meta: Path, *, fsync: bool) -> None:
        self.meta = meta
        self.fsync = fsync

    def _file(self, bucket: str, version: str) -> Path:
        return self.meta / "records" / bucket / f"{version}.json"

    def folder(self, bucket: str) -> Path:
        """Where the record files of ``bucket`` live."""
        return self.meta / "records" / bucket

    def seal(self, fd: int, bucket: str, key: str, record: dict[str, Any]) -> str | None:
        """Attach ``record`` to the open staging file ``fd``; return a record file's version.

        The caller removes the record file (``drop``) if the commit is abandoned.
        """
        raw = json.dumps(record, separators=(",", ":")).encode()
        if len(raw) <= XATTR_MAX:
            try:
                os.setxattr(fd, XATTR, raw)
            except OSError as exc:
                if exc.errno not in _TOO_BIG:
                    raise
            else:
                return None
        version = uuid.uuid4().hex
        self._write_file(bucket, key, version, raw)
        try:
            os.setxattr(fd, XATTR, json.dumps({"ref": version}).encode())
        except BaseException:
            self.drop(bucket, version)
            raise
        return version

    def _write_file(self, bucket: str, key: str, version: str, raw: bytes) -> None:
        path = self._file(bucket, version)
        if self.meta.resolve() != self.meta:
            raise s3po.AccessDenied(
                f"{self.meta} is a symbolic link to {self.meta.resolve()}; the local backend "
                "keeps its own state only inside its root",
                bucket=bucket,
                key=key,
                backend="local",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            content = b'{"bucket":%s,"key":%s,"record":%s}' % (
                json.dumps(bucket).encode(),
                json.dumps(key).encode(),
                raw,
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            try:
                write_all(fd, content, 0)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise store_error(exc, "write the record file", path, bucket, key) from exc

    def read(self, fd: int, bucket: str, key: str) -> dict[str, Any] | None:
        """The record of the open object ``fd``; None if the file has none.

        Raises:
            RecordGone: It refers to a record file that is gone (the object was replaced).
            CorruptData: The record is damaged.
        """
        try:
            raw = os.getxattr(fd, XATTR)
        except OSError as exc:
            if exc.errno in {errno.ENODATA, errno.ENOTSUP}:
                return None
            raise
        record = parse(raw, bucket, key)
        if "ref" not in record:
            return record
        try:
            content = self._file(bucket, str(record["ref"])).read_bytes()
        except FileNotFoundError:
            raise RecordGone from None
        stored = parse(content, bucket, key).get("record")
        if not isinstance(stored, dict):
            raise corrupt(bucket, key, f"record file {record['ref']} has no record")
        return stored

    @staticmethod
    def ref_of(path: Path) -> str | None:
        """The record file version the committed file ``path`` refers to, if any."""
        try:
            raw = os.getxattr(path, XATTR, follow_symlinks=False)
            ref = json.loads(raw).get("ref")
        except (OSError, ValueError, AttributeError):
            return None
        return ref if isinstance(ref, str) else None

    def drop(self, bucket: str, version: str | None) -> None:
        """Remove a record file no object refers to any more (best effort)."""
        if version is not None and version.isalnum():
            with contextlib.suppress(OSError):  # left for cleanup
                self._file(bucket, version).unlink(missing_ok=True)

    def orphans(self, bucket: str, owner: Any) -> list[tuple[str, str, float]]:  # noqa: ANN401
        """Record files no object refers to: ``(key, version, mtime)`` each.

        ``owner(key)`` gives the path of the object a record file was written for, or None.
        """
        folder = self.folder(bucket)
        found = []
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return []
        for entry in entries:
            version = entry.name.removesuffix(".json")
            try:
                content = json.loads(Path(entry.path).read_bytes())
                key = str(content["key"])
                mtime = entry.stat(follow_symlinks=False).st_mtime
            except (OSError, ValueError, KeyError, TypeError):
                key, mtime = f".s3po/records/{entry.name}", 0.0
            path = owner(key)
            if path is None or self.ref_of(path) != version:
                found.append((key, version, mtime))
        return found


def read_legacy(meta: Path, bucket: str, key: str) -> dict[str, Any] | None:
    """The record of a store written before records moved onto the files (JSON tree)."""
    try:
        raw = meta.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    return parse(raw, bucket, key)
