"""The values a backend takes and returns: headers, object information, parts, uploads.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Self

from s3po.backend.bodies import Body
from s3po.backend.checksums import StoredChecksum
from s3po.errors import InvalidRequest

__all__ = [
    "CommonPrefix",
    "GetResult",
    "Headers",
    "MultipartUpload",
    "ObjectInfo",
    "PartInfo",
    "WriteCondition",
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
        checksum: The wire checksum the store keeps for the stored bytes (algorithm, value,
            full-object or composite), when the backend asked for it and the store has one.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.4.0
       ``checksum``.
    """

    bucket: str
    key: str
    size: int
    etag: str = ""
    last_modified: dt.datetime | None = None
    headers: Headers = field(default_factory=Headers)
    version_id: str | None = None
    checksum: StoredChecksum | None = None

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

    Attributes:
        part_number: The part's number, from 1.
        etag: The part's ETag, without quotes.
        size: The part's size in bytes (0: not known).
        checksum: The wire checksum the store verified for the part (base64), which
            CompleteMultipartUpload repeats.
        checksum_algorithm: The algorithm of ``checksum`` (``"crc32"``, ``"crc32c"``,
            ``"crc64nvme"``); None: the upload's own.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.4.0
       ``checksum_algorithm``.
    """

    part_number: int
    etag: str
    size: int = 0
    checksum: str | None = None
    checksum_algorithm: str | None = None


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


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteCondition:
    """When a write may commit: S3's ``If-None-Match: *`` or ``If-Match: <etag>``.

    Backends check it in the step that commits (PutObject, CompleteMultipartUpload), so no
    other write can land between the check and the commit. A write whose condition does not
    hold raises :class:`~s3po.PreconditionFailed` and changes nothing.

    Attributes:
        if_none_match: True: commit only if the key holds no object (create, never replace).
        if_match: Commit only if the key holds the object with this ETag (compare-and-swap);
            quotes are ignored. A missing key fails the condition too.

    Raises:
        InvalidRequest: Neither or both conditions are given, or the ETag is empty.

    .. versionadded:: 0.4.0
    """

    if_none_match: bool = False
    if_match: str | None = None

    def __post_init__(self) -> None:
        """Refuse an empty or contradictory condition."""
        if self.if_none_match == (self.if_match is not None):
            raise InvalidRequest(
                "a write condition takes exactly one of if_none_match=True or if_match=<etag>"
            )
        if self.if_match is not None and not self.if_match.strip('"'):
            raise InvalidRequest("if_match= takes an ETag, not an empty string")

    @property
    def etag(self) -> str | None:
        """The ETag of ``if_match`` without quotes (None for ``if_none_match``)."""
        return None if self.if_match is None else self.if_match.strip('"')

    def holds(self, current: str | None) -> bool:
        """Whether a key whose object has ETag ``current`` (None: no object) may be written."""
        if self.if_none_match:
            return current is None
        return current is not None and current.strip('"') == self.etag

    def describe(self) -> str:
        """The condition as S3's header, for messages: ``If-None-Match: *``, ``If-Match: "e"``."""
        return "If-None-Match: *" if self.if_none_match else f'If-Match: "{self.etag}"'
