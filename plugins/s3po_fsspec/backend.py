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
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import s3po
from s3po.backend import (
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
    emulation,
)

__all__ = ["FsspecBackend"]

_RESERVED = ".s3po"
_CHUNK = 4 * 1024 * 1024


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
    capabilities = Capabilities()

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
            import fsspec  # noqa: PLC0415 - only when the backend is used

            fs = fsspec.filesystem(protocol, **storage_options)
        self.fs = fs
        self.root = root.rstrip("/")

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
        if not self._call(bucket, None, self.fs.isdir, path):
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

    def _call(self, bucket: str, key: str | None, fn: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        """Run a filesystem call, translating its errors into s3po's."""
        try:
            return fn(*args, **kwargs)
        except FileNotFoundError as exc:
            raise s3po.NoSuchKey(
                f"no object {key!r} in bucket {bucket!r}", bucket=bucket, key=key, backend=self.name
            ) from exc
        except PermissionError as exc:
            raise s3po.AccessDenied(
                f"access denied: {exc}", bucket=bucket, key=key, backend=self.name
            ) from exc
        except (ConnectionError, TimeoutError) as exc:
            raise s3po.TransientError(
                f"the filesystem failed: {exc}", bucket=bucket, key=key, backend=self.name
            ) from exc

    def _write_record(self, bucket: str, key: str, path: str, record: dict[str, Any]) -> None:
        self._call(bucket, key, self.fs.pipe_file, path, json.dumps(record).encode())

    def _read_record(self, bucket: str, key: str) -> tuple[str, dict[str, Any]]:
        data, meta = self._paths(bucket, key)
        self._require_bucket(bucket)
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
    ) -> ObjectInfo:
        """Store the object (bodies here are at most the multipart threshold)."""
        data_path, meta = self._paths(bucket, key)
        self._require_bucket(bucket)
        data = bytes(body) if isinstance(body, bytes | bytearray | memoryview) else body.read()
        self._call(bucket, key, self.fs.pipe_file, data_path, data)
        etag = hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag is an MD5
        return self._store(bucket, key, meta, len(data), etag, headers)

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object; a missing key is not an error."""
        data, meta = self._paths(bucket, key)
        self._require_bucket(bucket)
        for path in (meta, data):
            with contextlib.suppress(FileNotFoundError):
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
        found = self._call(bucket, None, self.fs.find, meta_root)
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
        if not self.fs.isdir(path):
            self._call(bucket, None, self.fs.mkdir, path, create_parents=True)

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
        self._call(bucket, key, self.fs.copy, src_data, data)
        new_headers = (
            headers if headers is not None else emulation.headers_from_record(record["headers"])
        )
        return self._store(bucket, key, meta, record["size"], record["etag"], new_headers)

    # -- multipart ------------------------------------------------------------------------

    def _upload_dir(self, bucket: str, upload_id: str) -> str:
        if not upload_id.isalnum():
            raise s3po.NoSuchUpload(f"no multipart upload {upload_id!r}", bucket=bucket)
        return f"{self._bucket_path(bucket)}/{_RESERVED}/uploads/{upload_id}"

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        """Begin an upload: a folder of part files under the bucket's ``.s3po/uploads``."""
        self._paths(bucket, key)
        self._require_bucket(bucket)
        upload_id = uuid.uuid4().hex
        record = {
            "key": key,
            "initiated": dt.datetime.now(dt.UTC).isoformat(),
            "headers": emulation.headers_to_record(headers),
        }
        self._write_record(
            bucket, key, f"{self._upload_dir(bucket, upload_id)}/upload.json", record
        )
        return upload_id

    def _upload(self, bucket: str, key: str, upload_id: str) -> tuple[str, dict[str, Any]]:
        folder = self._upload_dir(bucket, upload_id)
        try:
            record = json.loads(self.fs.cat_file(f"{folder}/upload.json"))
        except FileNotFoundError:
            record = None
        if record is None or record["key"] != key:
            raise s3po.NoSuchUpload(
                f"no multipart upload {upload_id!r} (aborted or completed already)",
                bucket=bucket,
                key=key,
                backend=self.name,
            )
        return folder, record

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: PartBody
    ) -> PartInfo:
        """Store one part."""
        folder, _ = self._upload(bucket, key, upload_id)
        emulation.check_part_number(part_number, self.capabilities, bucket, key, self.name)
        blob = bytes(data)
        self._call(bucket, key, self.fs.pipe_file, f"{folder}/part-{part_number:05d}", blob)
        return PartInfo(part_number, hashlib.md5(blob).hexdigest(), len(blob))  # noqa: S324

    def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[PartInfo]
    ) -> ObjectInfo:
        """Join the parts, checking S3's rules."""
        folder, record = self._upload(bucket, key, upload_id)

        def size(number: int) -> int | None:
            path = f"{folder}/part-{number:05d}"
            return int(self.fs.size(path)) if self.fs.exists(path) else None

        emulation.check_part_plan(
            parts,
            size,
            self.capabilities,
            lambda why: s3po.InvalidPart(why, bucket=bucket, key=key, backend=self.name),
        )
        data_path, meta = self._paths(bucket, key)
        digests = []
        total = 0
        with self._call(bucket, key, self.fs.open, data_path, "wb") as out:
            for part in parts:
                blob = self._call(
                    bucket, key, self.fs.cat_file, f"{folder}/part-{part.part_number:05d}"
                )
                digests.append(hashlib.md5(blob).digest())  # noqa: S324
                out.write(blob)
                total += len(blob)
        info = self._store(
            bucket,
            key,
            meta,
            total,
            emulation.multipart_etag(digests),
            emulation.headers_from_record(record["headers"]),
        )
        self.fs.rm(folder, recursive=True)
        return info

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard the upload's parts."""
        folder, _ = self._upload(bucket, key, upload_id)
        self.fs.rm(folder, recursive=True)

    def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """Yield incomplete uploads under ``prefix``."""
        base = self._require_bucket(bucket)
        folder = f"{base}/{_RESERVED}/uploads"
        try:
            entries = self.fs.ls(folder, detail=False)
        except FileNotFoundError:
            entries = []
        found = []
        for entry in entries:
            try:
                record = json.loads(self.fs.cat_file(f"{entry}/upload.json"))
            except (FileNotFoundError, json.JSONDecodeError):
                continue
            if record["key"].startswith(prefix):
                upload_id = entry.rstrip("/").rsplit("/", 1)[-1]
                found.append(
                    MultipartUpload(
                        bucket,
                        record["key"],
                        upload_id,
                        dt.datetime.fromisoformat(record["initiated"]),
                    )
                )
        return iter(sorted(found, key=lambda u: (u.key, u.upload_id)))

    def close(self) -> None:
        """Nothing to release; the filesystem object is shared."""
