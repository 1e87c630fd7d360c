"""The ``memory`` backend, :class:`MemoryBackend`: see :mod:`s3po_memory` for how it works."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import s3po
from s3po.backend import (
    ALL_CONDITIONS,
    MIB,
    BytesBody,
    Capabilities,
    CommonPrefix,
    FileWindow,
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
from s3po.backend.admin import BucketInfo
from s3po.backend.multipart import MultipartEmulation, PartChanged, UploadGone

if TYPE_CHECKING:
    from collections.abc import Callable

    _Commit = Callable[[str, str, bytes, str, Headers, WriteCondition | None], ObjectInfo]

__all__ = ["MemoryBackend"]


@dataclass(frozen=True, slots=True)
class _Object:
    data: bytes
    info: ObjectInfo


@dataclass(slots=True)
class _Upload:
    record: bytes
    parts: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)


class _Parts:
    """The memory backend's uploads, for :class:`~s3po.backend.multipart.MultipartEmulation`."""

    def __init__(self, lock: threading.Lock, commit: _Commit) -> None:
        self._lock = lock
        self._commit = commit
        self._uploads: dict[str, dict[str, _Upload]] = {}

    def __repr__(self) -> str:
        with self._lock:
            count = sum(len(uploads) for uploads in self._uploads.values())
        return f"_Parts({count} uploads)"

    def create_upload(self, bucket: str, key: str, upload_id: str, record: bytes) -> None:  # noqa: ARG002
        with self._lock:
            self._uploads.setdefault(bucket, {})[upload_id] = _Upload(record)

    def read_upload(self, bucket: str, key: str, upload_id: str) -> bytes | None:  # noqa: ARG002
        with self._lock:
            upload = self._uploads.get(bucket, {}).get(upload_id)
            return None if upload is None else upload.record

    def write_part(
        self,
        bucket: str,
        key: str,  # noqa: ARG002
        upload_id: str,
        number: int,
        data: PartBody,
        record: bytes,
    ) -> None:
        blob = _read(data)
        with self._lock:
            upload = self._uploads.get(bucket, {}).get(upload_id)
            if upload is None:
                raise UploadGone
            upload.parts[number] = (blob, record)

    def read_part(self, bucket: str, key: str, upload_id: str, number: int) -> bytes | None:  # noqa: ARG002
        with self._lock:
            upload = self._uploads.get(bucket, {}).get(upload_id)
            found = None if upload is None else upload.parts.get(number)
            return None if found is None else found[1]

    def part_numbers(self, bucket: str, key: str, upload_id: str) -> list[int]:  # noqa: ARG002
        with self._lock:
            upload = self._uploads.get(bucket, {}).get(upload_id)
            return [] if upload is None else list(upload.parts)

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
        with self._lock:
            upload = self._uploads.get(bucket, {}).get(upload_id)
            if upload is None:
                raise UploadGone
            stored = dict(upload.parts)
        blobs = []
        for part in parts:
            blob, record = stored[part.part_number]
            if json.loads(record)["etag"] != part.etag:
                raise PartChanged(part.part_number)
            blobs.append(blob)
        return self._commit(bucket, key, b"".join(blobs), etag, headers, condition)

    def remove_upload(self, bucket: str, key: str, upload_id: str) -> None:  # noqa: ARG002
        with self._lock:
            self._uploads.get(bucket, {}).pop(upload_id, None)

    def holds(self, bucket: str) -> bool:
        """Whether ``bucket`` has an incomplete upload (the caller holds the lock)."""
        return bool(self._uploads.get(bucket))

    def forget(self, bucket: str) -> None:
        """Drop what is kept for a deleted bucket (the caller holds the lock)."""
        self._uploads.pop(bucket, None)

    def list_uploads(self, bucket: str) -> list[tuple[str, bytes | None, dt.datetime | None]]:
        with self._lock:
            uploads = self._uploads.get(bucket, {})
            return [(upload_id, u.record, None) for upload_id, u in uploads.items()]


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag is an MD5


def _read(body: UploadBody | PartBody) -> bytes:
    """The whole body: a window is checked unchanged, a stream read to its end."""
    if isinstance(body, bytes | bytearray | memoryview | FileWindow):
        return bytes(body)
    chunks = []
    while chunk := body.read(MIB):
        chunks.append(chunk)
    return b"".join(chunks)


class MemoryBackend:
    """Buckets and objects in memory, with S3's rules.

    Args:
        create_buckets: Create a missing bucket on first write (default True, as the
            original s3po's memory backend did); False refuses writes to it with
            NoSuchBucket, as S3 does. Reads of a missing bucket raise NoSuchBucket either way.
        min_part_size: Smallest part but the last (S3: 5 MiB).
        max_parts: Most parts per upload (S3: 10,000).

    .. versionadded:: 0.4.0
    """

    name = "memory"
    capabilities = Capabilities(conditions=ALL_CONDITIONS)

    def __init__(
        self,
        *,
        create_buckets: bool = True,
        min_part_size: int | None = None,
        max_parts: int | None = None,
    ) -> None:
        """Start with an empty store."""
        self.create_buckets = create_buckets
        if min_part_size is not None or max_parts is not None:
            self.capabilities = Capabilities(
                min_part_size=min_part_size or Capabilities().min_part_size,
                max_parts=max_parts or Capabilities().max_parts,
                conditions=ALL_CONDITIONS,
            )
        self._lock = threading.Lock()
        self._buckets: dict[str, dict[str, _Object]] = {}
        self._parts = _Parts(self._lock, self._commit)
        self._multipart = MultipartEmulation(
            self._parts, backend=self.name, capabilities=self.capabilities
        )

    def __repr__(self) -> str:
        """Show the size of the store."""
        with self._lock:
            count = sum(len(objects) for objects in self._buckets.values())
        return f"MemoryBackend({len(self._buckets)} buckets, {count} objects)"

    # -- lookups (call with the lock held) ------------------------------------------------

    def _bucket(self, bucket: str, *, write: bool = False) -> dict[str, _Object]:
        objects = self._buckets.get(bucket)
        if objects is None:
            if not (write and self.create_buckets):
                raise s3po.NoSuchBucket(
                    f"no bucket {bucket!r} in the memory store; create it with create_bucket()",
                    bucket=bucket,
                    backend=self.name,
                )
            objects = self._buckets[bucket] = {}
        return objects

    def _object(self, bucket: str, key: str) -> _Object:
        found = self._bucket(bucket).get(key)
        if found is None:
            raise s3po.NoSuchKey(
                "no such key in the memory store", bucket=bucket, key=key, backend=self.name
            )
        return found

    def _commit(
        self,
        bucket: str,
        key: str,
        data: bytes,
        etag: str,
        headers: Headers,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Store the object under the lock; ``condition`` is checked under the same lock."""
        if headers.content_type is None:
            headers = replace(headers, content_type=emulation.DEFAULT_CONTENT_TYPE)
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(data),
            etag=etag,
            last_modified=dt.datetime.now(dt.UTC),
            headers=headers,
        )
        with self._lock:
            objects = self._bucket(bucket, write=True)
            if condition is not None:
                current = objects.get(key)
                held = None if current is None else current.info.etag
                emulation.check_write(condition, held, bucket, key, self.name)
            objects[key] = _Object(data, info)
        return info

    # -- objects --------------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Return the object's information."""
        with self._lock:
            return self._object(bucket, key).info

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> GetResult:
        """Open the object's bytes ``[start, end)``; ``if_match`` pins an ETag."""
        with self._lock:
            found = self._object(bucket, key)
        info = found.info
        start, stop = emulation.read_range(
            info.etag, info.size, start, end, if_match, bucket, key, self.name
        )
        body = BytesBody(memoryview(found.data)[start:stop])
        return GetResult(info=info, body=body, start=start, end=stop)

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
        """Store the object: read the body to its end, then commit it whole.

        ``condition`` is checked under the lock that commits, so it is atomic.
        """
        with self._lock:
            self._bucket(bucket, write=True)
        data = _read(body)
        return self._commit(bucket, key, data, _md5(data), headers, condition)

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object; a missing key is not an error."""
        with self._lock:
            self._bucket(bucket).pop(key, None)

    def list(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str | None = None,
        *,
        start_after: str | None = None,
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """Yield objects and common prefixes under ``prefix``, in S3's key order.

        The listing is of the store as it was when the call was made.
        """
        with self._lock:
            snapshot = {k: o.info for k, o in self._bucket(bucket).items()}
        return emulation.fold_listing(
            snapshot, prefix, delimiter, snapshot.get, start_after=start_after
        )

    def create_bucket(self, bucket: str) -> None:
        """Create the bucket; an existing one is fine."""
        with self._lock:
            if bucket not in self._buckets:
                self._buckets[bucket] = {}

    def list_buckets(self) -> Iterator[BucketInfo]:
        """Yield the buckets, by name."""
        with self._lock:
            names = sorted(self._buckets)
        return iter([BucketInfo(name) for name in names])

    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket with no incomplete uploads."""
        with self._lock:
            objects = self._bucket(bucket)
            if objects or self._parts.holds(bucket):
                raise s3po.BackendError(
                    f"bucket {bucket!r} is not empty; delete its objects and abort its "
                    "uploads first",
                    bucket=bucket,
                    backend=self.name,
                )
            del self._buckets[bucket]
            self._parts.forget(bucket)

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
        with self._lock:
            found = self._object(src_bucket, src_key)
        new = headers if headers is not None else found.info.headers
        return self._commit(bucket, key, found.data, found.info.etag, new)

    # -- multipart ------------------------------------------------------------------------

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        """Begin an upload."""
        with self._lock:
            self._bucket(bucket, write=True)
        return self._multipart.start(bucket, key, headers)

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: PartBody
    ) -> PartInfo:
        """Store one part (a later part of the same number replaces it)."""
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
        """Join the parts, checking S3's rules, and commit the object (if ``condition`` holds)."""
        return self._multipart.complete(bucket, key, upload_id, parts, condition=condition)

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard the upload and its parts."""
        self._multipart.abort(bucket, key, upload_id)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> Iterator[PartInfo]:
        """The stored parts of an upload (ListParts).

        .. versionadded:: 0.4.0
        """
        return self._multipart.parts(bucket, key, upload_id)

    def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """Yield incomplete uploads under ``prefix``, by key and start time."""
        with self._lock:
            self._bucket(bucket)
        return self._multipart.uploads(bucket, prefix)

    def close(self) -> None:
        """Nothing to release (the objects stay until the backend is dropped)."""
