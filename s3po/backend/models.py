"""The values a backend takes and returns: headers, object information, parts, uploads.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self

from s3po.backend.bodies import Body

__all__ = [
    "CommonPrefix",
    "GetResult",
    "Headers",
    "MultipartUpload",
    "ObjectInfo",
    "PartInfo",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Headers:
    """The HTTP headers and user metadata stored with an object.

    Attributes:
        content_type: ``Content-Type``; None leaves the backend's default.
        content_encoding: ``Content-Encoding``, the codecs applied, comma-separated.
        cache_control: ``Cache-Control``.
        content_disposition: ``Content-Disposition``.
        content_language: ``Content-Language``.
        metadata: User metadata (``x-amz-meta-*`` without the prefix), lower-case names.
        extra: Backend-specific fields (``StorageClass``, ``ServerSideEncryption``, ...).

    .. versionadded:: 0.1.0
    """

    content_type: str | None = None
    content_encoding: str | None = None
    cache_control: str | None = None
    content_disposition: str | None = None
    content_language: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectInfo:
    """What a backend knows of a stored object.

    Attributes:
        bucket: The bucket.
        key: The key.
        size: Stored size in bytes (after compression).
        etag: The ETag without quotes; ``md5-N`` for multipart uploads.
        last_modified: When the object was written, timezone-aware UTC.
        headers: Content-Type, Content-Encoding, metadata and the rest.
        version_id: The version, on versioned buckets.

    .. versionadded:: 0.1.0
    """

    bucket: str
    key: str
    size: int
    etag: str = ""
    last_modified: dt.datetime | None = None
    headers: Headers = field(default_factory=Headers)
    version_id: str | None = None

    @property
    def is_multipart(self) -> bool:
        """Whether the ETag has the ``-N`` multipart form (it is then not an MD5)."""
        return "-" in self.etag


@dataclass(frozen=True, slots=True)
class CommonPrefix:
    """A "folder" of a delimited listing.

    .. versionadded:: 0.1.0
    """

    prefix: str


@dataclass(frozen=True, slots=True)
class PartInfo:
    """One uploaded part of a multipart upload.

    .. versionadded:: 0.1.0
    """

    part_number: int
    etag: str
    size: int = 0
    checksum: str | None = None


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    """An incomplete multipart upload, as listed by the backend.

    .. versionadded:: 0.1.0
    """

    bucket: str
    key: str
    upload_id: str
    initiated: dt.datetime | None = None


@dataclass(slots=True)
class GetResult:
    """An object's information and a stream over (a range of) its body.

    Attributes:
        info: The object's information; ``size`` is the whole object's stored size.
        body: The bytes, from ``start`` on; close it when done.
        start: Offset of the first byte of ``body`` in the object.
        end: Offset one past the last byte of ``body``.

    .. versionadded:: 0.1.0
    """

    info: ObjectInfo
    body: Body
    start: int = 0
    end: int = 0

    def __enter__(self) -> Self:
        """Return self; the body is closed on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the body."""
        self.body.close()
