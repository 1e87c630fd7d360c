"""Any fsspec filesystem as an s3po backend.

Buckets are top-level folders of the filesystem (below ``root``); for ``s3fs`` with an empty
root they are the S3 buckets themselves. What a filesystem cannot hold by itself (Content-Type,
Content-Encoding, user metadata, S3's ETag) is kept in a small JSON record per object under
the bucket's reserved ``.s3po/`` folder, so every filesystem behaves the same: metadata
round-trips, ETags have S3's form (the ``-N`` multipart form included), and multipart
uploads are emulated with part files and obey S3's size rules.

Choose this backend to reach storage s3po has no native plugin for (GCS, Azure, HDFS, SFTP,
``memory://`` in tests). For S3 itself prefer the ``s3`` backend: it stores metadata natively
and maps every S3 error code.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import s3po
from s3po.backend import (
    ALL_CONDITIONS,
    Body,
    Capabilities,
    CommonPrefix,
    GetResult,
    Headers,
    MultipartUpload,
    ObjectInfo,
    PartBody,
    PartInfo,
    UploadBody,
    WriteCondition,
    emulation,
)
from s3po.backend.multipart import MultipartEmulation

from ._errors import fs_errors
from ._parts import FsspecParts

__all__ = ["FsspecBackend"]

_RESERVED = ".s3po"
_CHUNK = 4 * 1024 * 1024
#: Writes to keys hashing to one stripe are serialised (a conditional write's check and
#: its write are one step for the writers of this backend).
_STRIPES = 64


class _RangeBody(Body):
    """Reads ``[start, end)`` of a file in windows with ``cat_file``.

    Ranged reads are safe from many threads on every filesystem (some, such as
    ``memory://``, hand out one shared file object to every ``open``). The bytes are
    counted against the size the object's record reports: a file that ends early raises
    :class:`~s3po.TransientError` (the retry layer resumes, then gives up), and bytes past
    the end are never returned.
    """

    def __init__(
        self,
        fs: Any,  # noqa: ANN401 - any fsspec AbstractFileSystem
        path: str,
        start: int,
        end: int,
        *,
        bucket: str,
        key: str,
    ) -> None:
        super().__init__()
        self._fs = fs
        self._path = path
        self._pos = start
        self._end = end
        self._context = {"bucket": bucket, "key": key, "backend": "fsspec"}
        self._where = f"s3://{bucket}/{key}"

    def read(self, size: int = -1) -> bytes:
        if self._pos >= self._end:
            return b""
        n = _CHUNK if size is None or size < 0 else min(size, _CHUNK)
        stop = min(self._pos + n, self._end)
        try:
            data: bytes = self._fs.cat_file(self._path, start=self._pos, end=stop)
        except (ConnectionError, TimeoutError) as exc:
            raise s3po.TransientError(
                f"reading the body of {self._where} failed: {exc}", **self._context
            ) from exc
        if not data:
            raise s3po.TransientError(
                f"the body of {self._where} ended {self._end - self._pos} bytes early, at byte "
                f"{self._pos} of the {self._end} its record reports",
                **self._context,
            )
        data = data[: stop - self._pos]
        self._pos += len(data)
        return data


class FsspecBackend:
    """Objects stored through an fsspec filesystem.

    Args:
        fs: A ready filesystem (``s3fs.S3FileSystem(...)``, ``fsspec.filesystem("memory")``).
        protocol: Build one with ``fsspec.filesystem(protocol, **storage_options)`` instead.
        root: Folder holding the buckets ("" for s3fs, where buckets are S3 buckets).
        **storage_options: Passed to ``fsspec.filesystem``.

    .. versionadded:: 0.1.0
    """

    name = "fsspec"
    capabilities = Capabilities(conditions=ALL_CONDITIONS)

    def __init__(
        self,
        fs: Any = None,  # noqa: ANN401 - any fsspec AbstractFileSystem
        *,
        protocol: str = "memory",
        root: str = "",
        **storage_options: Any,  # noqa: ANN401
    ) -> None:
        """Use ``fs``, or build a filesystem for ``protocol``."""
        if fs is None:
            try:
                import fsspec  # noqa: PLC0415 - only when the backend is used
            except ImportError as exc:  # as the registry says it for a plugin's own import
                raise s3po.UnknownBackend(
                    f"backend 'fsspec' needs a package that is not installed ({exc}); "
                    "pip install 's3po[fsspec]'"
                ) from exc
            fs = fsspec.filesystem(protocol, **storage_options)
        self.fs = fs
        self.root = root.rstrip("/")
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        self._multipart = MultipartEmulation(
            FsspecParts(
                fs,
                self._uploads_folder,
                lambda b, k: self._paths(b, k)[0],
                self._commit,
                self._guard,
            ),
            backend=self.name,
            capabilities=self.capabilities,
        )

    def __repr__(self) -> str:
        """Show the filesystem's protocol and root (never credentials)."""
        protocol = getattr(self.fs, "protocol", "?")
        return f"FsspecBackend(protocol={protocol!r}, root={self.root!r})"

    # -- paths ----------------------------------------------------------------------------

    def _bucket_path(self, bucket: str) -> str:
        s3po.check_bucket(bucket)
        return f"{self.root}/{bucket}" if self.root else bucket

    def _require_bucket(self, bucket: str) -> str:
        path = self._bucket_path(bucket)
        with fs_errors(bucket, None):
            found = self.fs.isdir(path)
        if not found:
            raise s3po.NoSuchBucket(
                f"bucket {bucket!r} does not exist; create it with create_bucket()",
                bucket=bucket,
                backend=self.name,
            )
        return path

    def _paths(self, bucket: str, key: str) -> tuple[str, str]:
        s3po.check_key(key)
        if key == _RESERVED or key.startswith(_RESERVED + "/"):
            raise s3po.InvalidKey(f"keys under {_RESERVED}/ are reserved by the fsspec backend")
        if key.startswith("/") or "//" in key or key.endswith("/"):
            raise s3po.InvalidKey(
                f"key {key!r} has an empty path segment, which a filesystem cannot hold"
            )
        if any(part in {".", ".."} for part in key.split("/")):
            raise s3po.InvalidKey(f"key {key!r} would escape the bucket's folder")
        base = self._bucket_path(bucket)
        return f"{base}/{key}", f"{base}/{_RESERVED}/meta/{key}.json"

    def _write_record(self, bucket: str, key: str, path: str, record: dict[str, Any]) -> None:
        with fs_errors(bucket, key, "write the record of"):
            self.fs.pipe_file(path, json.dumps(record).encode())

    def _read_record(self, bucket: str, key: str) -> tuple[str, dict[str, Any]]:
        data, meta = self._paths(bucket, key)
        self._require_bucket(bucket)
        with fs_errors(bucket, key, "read the record of"):
            try:
                raw = self.fs.cat_file(meta)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raw = None
        if raw is None:
            raise s3po.NoSuchKey(
                f"no object {key!r} in bucket {bucket!r}", bucket=bucket, key=key, backend=self.name
            )
        return data, json.loads(raw)

    def _info(self, bucket: str, key: str, record: dict[str, Any]) -> ObjectInfo:
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=record["size"],
            etag=record["etag"],
            last_modified=dt.datetime.fromisoformat(record["last_modified"]),
            headers=emulation.headers_from_record(record["headers"]),
        )

    @contextlib.contextmanager
    def _guard(self, bucket: str, key: str, condition: WriteCondition | None) -> Iterator[None]:
        """Hold the key's write lock and check ``condition`` against its record, before writing.

        fsspec filesystems have no conditional write of their own, so the condition is
        checked and the file and record written under one lock of this backend instance:
        atomic between the threads using it, not between processes (or other instances)
        writing to the same filesystem.
        """
        with self._stripes[hash((bucket, key)) % _STRIPES]:
            if condition is not None:
                try:
                    current: str | None = self._read_record(bucket, key)[1]["etag"]
                except s3po.NoSuchKey:
                    current = None
                emulation.check_write(condition, current, bucket, key, self.name)
            yield

    def _uploads_folder(self, bucket: str) -> str:
        return f"{self._bucket_path(bucket)}/{_RESERVED}/uploads"

    def _commit(self, bucket: str, key: str, size: int, etag: str, headers: Headers) -> ObjectInfo:
        """Write the record of the object whose file was just written."""
        return self._store(bucket, key, self._paths(bucket, key)[1], size, etag, headers)

    def _store(
        self, bucket: str, key: str, meta: str, size: int, etag: str, headers: Headers
    ) -> ObjectInfo:
        record_headers = emulation.headers_to_record(
            headers, default_type=emulation.DEFAULT_CONTENT_TYPE
        )
        record = {
            "size": size,
            "etag": etag,
            "last_modified": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "headers": record_headers,
        }
        self._write_record(bucket, key, meta, record)
        return self._info(bucket, key, record)

    # -- the Backend interface ------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Return the object's information."""
        _, record = self._read_record(bucket, key)
        return self._info(bucket, key, record)

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> GetResult:
        """Open the object's bytes ``[start, end)``."""
        data, record = self._read_record(bucket, key)
        start, stop = emulation.read_range(
            record["etag"], record["size"], start, end, if_match, bucket, key, self.name
        )
        body = _RangeBody(self.fs, data, start, stop, bucket=bucket, key=key)
        return GetResult(info=self._info(bucket, key, record), body=body, start=start, end=stop)

    def put(
        self,
        bucket: str,
        key: str,
        body: UploadBody,
        *,
        headers: Headers,
        size: int | None = None,  # noqa: ARG002 - the body is read whole
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Store the object (bodies here are at most the multipart threshold).

        ``condition`` is checked before anything is written, under the key's lock (see
        :meth:`_guard`: atomic within this backend instance).
        """
        data_path, meta = self._paths(bucket, key)
        self._require_bucket(bucket)
        data = bytes(body) if isinstance(body, bytes | bytearray | memoryview) else body.read()
        etag = hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag is an MD5
        with self._guard(bucket, key, condition):
            with fs_errors(bucket, key, "write"):
                self.fs.pipe_file(data_path, data)
            return self._store(bucket, key, meta, len(data), etag, headers)

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object; a missing key is not an error."""
        data, meta = self._paths(bucket, key)
        self._require_bucket(bucket)
        for path in (meta, data):
            with fs_errors(bucket, key, "delete"), contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(path)

    def list(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str | None = None,
        *,
        start_after: str | None = None,
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """Yield objects and common prefixes under ``prefix``, in S3's key order."""
        base = self._require_bucket(bucket)
        meta_root = f"{base}/{_RESERVED}/meta/"
        with fs_errors(bucket, None, "list"):
            found = self.fs.find(meta_root)
        records = {}
        for path in found:
            plain = path.lstrip("/")
            rel = (
                plain[len(meta_root.lstrip("/")) :]
                if plain.startswith(meta_root.lstrip("/"))
                else None
            )
            if rel and rel.endswith(".json"):
                records[rel.removesuffix(".json")] = path

        def describe(key: str) -> ObjectInfo | None:
            try:
                return self.head(bucket, key)
            except s3po.NoSuchKey:
                return None

        return emulation.fold_listing(records, prefix, delimiter, describe, start_after=start_after)

    def create_bucket(self, bucket: str) -> None:
        """Create the bucket's folder (or, on s3fs, the bucket)."""
        path = self._bucket_path(bucket)
        with fs_errors(bucket, None, "create"):
            if not self.fs.isdir(path):
                self.fs.mkdir(path, create_parents=True)

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        headers: Headers | None = None,
    ) -> ObjectInfo:
        """Copy an object; ``headers`` replace the source's if given."""
        src_data, record = self._read_record(src_bucket, src_key)
        data, meta = self._paths(bucket, key)
        self._require_bucket(bucket)
        with fs_errors(bucket, key, "copy to"):
            self.fs.copy(src_data, data)
        new_headers = (
            headers if headers is not None else emulation.headers_from_record(record["headers"])
        )
        return self._store(bucket, key, meta, record["size"], record["etag"], new_headers)

    # -- multipart ------------------------------------------------------------------------

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        """Begin an upload: a folder of part files under the bucket's ``.s3po/uploads``."""
        self._paths(bucket, key)
        self._require_bucket(bucket)
        return self._multipart.start(bucket, key, headers)

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: PartBody
    ) -> PartInfo:
        """Store one part, with its record beside it."""
        return self._multipart.put_part(bucket, key, upload_id, part_number, data)

    def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        *,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Join the parts, checking S3's rules and ``condition`` (as for :meth:`put`)."""
        return self._multipart.complete(bucket, key, upload_id, parts, condition=condition)

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard the upload's parts."""
        self._multipart.abort(bucket, key, upload_id)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> Iterator[PartInfo]:
        """The stored parts of an upload (ListParts).

        .. versionadded:: 0.4.0
        """
        return self._multipart.parts(bucket, key, upload_id)

    def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """Yield incomplete uploads under ``prefix``.

        One cut off as it began (no usable record) is listed as ``.s3po/uploads/<id>``.
        """
        self._require_bucket(bucket)
        return self._multipart.uploads(bucket, prefix)

    def close(self) -> None:
        """Nothing to release; the filesystem object is shared."""
