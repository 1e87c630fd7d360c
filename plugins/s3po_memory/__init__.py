"""The ``memory`` backend: S3's semantics in a dictionary, for unit tests.

Objects live in this process only, in the backend instance: each
``Connection(backend="memory")`` (or :meth:`Connection.memory() <s3po.Connection.memory>`)
starts with an empty store of its own, and a pickled Connection's copy starts empty too.
Everything else behaves as on S3, so code tested here runs unchanged against a real store:
ETags are MD5s (``md5-N`` for multipart uploads), Content-Type, Content-Encoding and user
metadata are kept, listings come in S3's key order with prefixes and delimiters, ranged and
If-Match GETs work, and multipart uploads obey S3's limits (parts of at least 5 MiB but the
last, at most 10,000 parts) and are listed until completed or aborted.

A write is committed whole or not at all: the body is read to its end first, then stored
under a lock, so readers never see part of an object, and a source that fails part-way
leaves the old object in place. Every method is safe to call from many threads.

This is the original s3po's in-memory backend and ``conn.mock()`` store, grown into a full
backend.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import s3po
from s3po.backend import (
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
    emulation,
)
from s3po.backend.admin import BucketInfo

__all__ = ["MemoryBackend", "s3po_register_backends"]


@s3po.hookimpl
def s3po_register_backends(registry: s3po.BackendRegistry) -> None:
    """Register the ``memory`` backend."""
    registry.register("memory", MemoryBackend)


@dataclass(frozen=True, slots=True)
class _Object:
    data: bytes
    info: ObjectInfo


@dataclass(slots=True)
class _Upload:
    key: str
    headers: Headers
    initiated: dt.datetime
    parts: dict[int, tuple[bytes, str]] = field(default_factory=dict)


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
    capabilities = Capabilities()

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
            )
        self._lock = threading.Lock()
        self._buckets: dict[str, dict[str, _Object]] = {}
        self._uploads: dict[str, dict[str, _Upload]] = {}

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
            self._uploads[bucket] = {}
        return objects

    def _object(self, bucket: str, key: str) -> _Object:
        found = self._bucket(bucket).get(key)
        if found is None:
            raise s3po.NoSuchKey(
                "no such key in the memory store", bucket=bucket, key=key, backend=self.name
            )
        return found

    def _upload(self, bucket: str, key: str, upload_id: str) -> _Upload:
        upload = self._uploads.get(bucket, {}).get(upload_id)
        if upload is None or upload.key != key:
            raise s3po.NoSuchUpload(
                f"no multipart upload {upload_id!r} (aborted or completed already)",
                bucket=bucket,
                key=key,
                backend=self.name,
            )
        return upload

    def _commit(
        self, bucket: str, key: str, data: bytes, etag: str, headers: Headers
    ) -> ObjectInfo:
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
            self._bucket(bucket, write=True)[key] = _Object(data, info)
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
    ) -> ObjectInfo:
        """Store the object: read the body to its end, then commit it whole."""
        with self._lock:
            self._bucket(bucket, write=True)
        data = _read(body)
        return self._commit(bucket, key, data, _md5(data), headers)

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
                self._uploads[bucket] = {}

    def list_buckets(self) -> Iterator[BucketInfo]:
        """Yield the buckets, by name."""
        with self._lock:
            names = sorted(self._buckets)
        return iter([BucketInfo(name) for name in names])

    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket with no incomplete uploads."""
        with self._lock:
            objects = self._bucket(bucket)
            if objects or self._uploads.get(bucket):
                raise s3po.BackendError(
                    f"bucket {bucket!r} is not empty; delete its objects and abort its "
                    "uploads first",
                    bucket=bucket,
                    backend=self.name,
                )
            del self._buckets[bucket]
            self._uploads.pop(bucket, None)

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
        upload_id = uuid.uuid4().hex
        with self._lock:
            self._bucket(bucket, write=True)
            self._uploads[bucket][upload_id] = _Upload(key, headers, dt.datetime.now(dt.UTC))
        return upload_id

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: PartBody
    ) -> PartInfo:
        """Store one part (a later part of the same number replaces it)."""
        with self._lock:
            self._upload(bucket, key, upload_id)
        emulation.check_part_number(part_number, self.capabilities, bucket, key, self.name)
        blob = _read(data)
        etag = _md5(blob)
        with self._lock:
            self._upload(bucket, key, upload_id).parts[part_number] = (blob, etag)
        return PartInfo(part_number, etag, len(blob))

    def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[PartInfo]
    ) -> ObjectInfo:
        """Join the parts, checking S3's rules, and commit the object."""
        with self._lock:
            upload = self._upload(bucket, key, upload_id)
            stored = dict(upload.parts)

        def refuse(why: str) -> s3po.InvalidPart:
            return s3po.InvalidPart(why, bucket=bucket, key=key, backend=self.name)

        def size(number: int) -> int | None:
            return len(stored[number][0]) if number in stored else None

        emulation.check_part_plan(parts, size, self.capabilities, refuse)
        for part in parts:
            if part.etag.strip('"') != stored[part.part_number][1]:
                raise refuse(
                    f"part {part.part_number} has ETag {stored[part.part_number][1]!r}, "
                    f"not {part.etag!r}"
                )
        data = b"".join(stored[p.part_number][0] for p in parts)
        digests = [bytes.fromhex(stored[p.part_number][1]) for p in parts]
        info = self._commit(bucket, key, data, emulation.multipart_etag(digests), upload.headers)
        with self._lock:
            self._uploads[bucket].pop(upload_id, None)
        return info

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard the upload and its parts."""
        with self._lock:
            self._upload(bucket, key, upload_id)
            del self._uploads[bucket][upload_id]

    def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """Yield incomplete uploads under ``prefix``, by key and start time."""
        with self._lock:
            self._bucket(bucket)
            found = [
                MultipartUpload(bucket, u.key, upload_id, u.initiated)
                for upload_id, u in self._uploads[bucket].items()
                if u.key.startswith(prefix)
            ]
        return iter(sorted(found, key=lambda u: (u.key, u.initiated or u.upload_id)))

    def close(self) -> None:
        """Nothing to release (the objects stay until the backend is dropped)."""
