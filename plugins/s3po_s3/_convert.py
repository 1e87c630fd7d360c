"""Conversions between s3po's types and boto3's request and response fields.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import s3po
from s3po.backend import (
    CommonPrefix,
    FileWindow,
    Headers,
    ObjectInfo,
    PartInfo,
    WriteCondition,
    emulation,
)
from s3po.backend.checksums import StoredChecksum

if TYPE_CHECKING:
    from s3po.backend import Readable, UploadBody

__all__ = [
    "CONTENT_RANGE",
    "as_bytes",
    "condition_params",
    "content_md5",
    "entry_key",
    "header_params",
    "headers_from",
    "multipart_etag",
    "quote",
    "stored_checksum",
    "unquote",
    "utc",
]

_HEADER_FIELDS = (
    ("content_type", "ContentType"),
    ("content_encoding", "ContentEncoding"),
    ("cache_control", "CacheControl"),
    ("content_disposition", "ContentDisposition"),
    ("content_language", "ContentLanguage"),
)
#: Response fields reported in ``Headers.extra`` (each is also a valid upload parameter).
_EXTRA_FIELDS = ("StorageClass", "ServerSideEncryption", "SSEKMSKeyId", "WebsiteRedirectLocation")
#: Parameters the backend sets itself; ``Headers.extra`` may not override them.
_RESERVED = frozenset(
    {"Bucket", "Key", "Body", "ContentMD5", "ChecksumCRC32", "ChecksumCRC32C",
     "ChecksumCRC64NVME", "ChecksumAlgorithm", "ChecksumType",
     "ContentLength", "UploadId", "PartNumber",
     "CopySource", "CopySourceIfMatch", "MetadataDirective", "IfMatch", "IfNoneMatch", "Range"}
)  # fmt: skip
CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_MD5_HEX = re.compile(r"[0-9a-f]{32}")


def unquote(value: str | None) -> str:
    """An ETag without its quotes."""
    return (value or "").strip('"')


def quote(etag: str) -> str:
    """An ETag in quotes, as If-Match and part lists want it."""
    return f'"{etag.strip(chr(34))}"'


def content_md5(data: bytes | FileWindow) -> str:
    """The Content-MD5 header of ``data`` (base64 of the digest); windows are read in pieces."""
    digest = hashlib.md5(usedforsecurity=False)
    for piece in _pieces(data):
        digest.update(piece)
    return base64.b64encode(digest.digest()).decode("ascii")


def _pieces(data: bytes | FileWindow) -> Iterable[bytes | memoryview]:
    return data.views() if isinstance(data, FileWindow) else (data,)


def as_bytes(body: UploadBody) -> bytes:
    """The body as bytes; a stream is read to its end."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    return _read_all(body)


def _read_all(stream: Readable) -> bytes:
    return b"".join(iter(lambda: stream.read(1024 * 1024), b""))


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` in UTC."""
    return value.astimezone(dt.UTC) if value is not None else None


def headers_from(response: Any) -> Headers:  # noqa: ANN401 - any boto3 response dict
    """The :class:`~s3po.Headers` of a HeadObject or GetObject response."""
    extra = {name: str(response[name]) for name in _EXTRA_FIELDS if response.get(name)}
    if response.get("ExpiresString"):
        extra["Expires"] = response["ExpiresString"]
    return Headers(
        content_type=response.get("ContentType"),
        content_encoding=response.get("ContentEncoding") or None,
        cache_control=response.get("CacheControl"),
        content_disposition=response.get("ContentDisposition"),
        content_language=response.get("ContentLanguage"),
        metadata={k.lower(): v for k, v in (response.get("Metadata") or {}).items()},
        extra=extra,
    )


#: The checksums a HeadObject/GetObject with checksum mode may report, strongest first.
_STORED = ("CRC64NVME", "CRC32C", "CRC32", "SHA256", "SHA1")


def stored_checksum(response: Any) -> StoredChecksum | None:  # noqa: ANN401 - a boto3 response
    """The wire checksum a HeadObject or GetObject response reports, if any."""
    for name in _STORED:
        value = response.get(f"Checksum{name}")
        if value:
            return StoredChecksum.parse(name, str(value), response.get("ChecksumType"))
    return None


def multipart_etag(parts: Sequence[PartInfo]) -> str | None:
    """The ETag S3 gives an upload of ``parts``, when every part ETag is a plain MD5."""
    if not parts or not all(_MD5_HEX.fullmatch(p.etag) for p in parts):
        return None
    return emulation.multipart_etag([bytes.fromhex(p.etag) for p in parts])


def header_params(headers: Headers, bucket: str, key: str) -> dict[str, Any]:
    """boto3's upload parameters for ``headers`` (``extra`` passes through by boto3 name).

    Raises:
        InvalidRequest: ``extra`` tries to set a parameter the backend owns.
    """
    params: dict[str, Any] = {}
    for attr, name in _HEADER_FIELDS:
        value = getattr(headers, attr)
        if value is not None:
            params[name] = value
    if headers.metadata:
        params["Metadata"] = dict(headers.metadata)
    clash = sorted(_RESERVED & headers.extra.keys())
    if clash:
        raise s3po.InvalidRequest(
            f"Headers.extra may not set {', '.join(clash)} (s3://{bucket}/{key}); the S3 "
            "backend sets them itself"
        )
    params.update(headers.extra)
    return params


def condition_params(condition: WriteCondition | None) -> dict[str, str]:
    """boto3's ``IfNoneMatch`` / ``IfMatch`` parameters of PutObject and CompleteMultipartUpload."""
    if condition is None:
        return {}
    if condition.if_none_match:
        return {"IfNoneMatch": "*"}
    return {"IfMatch": quote(condition.etag or "")}


def entry_key(entry: ObjectInfo | CommonPrefix) -> str:
    """The key or prefix a listing entry sorts by."""
    return entry.key if isinstance(entry, ObjectInfo) else entry.prefix
