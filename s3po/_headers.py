"""Turn the ``headers=`` and ``metadata=`` of a call into :class:`~s3po.Headers`.

Accepted names (case-insensitive): ``Content-Type``, ``Content-Encoding``,
``Cache-Control``, ``Content-Disposition``, ``Content-Language``, ``x-amz-meta-<name>``
(user metadata), and the S3 options ``x-amz-storage-class``, ``x-amz-server-side-encryption``,
``x-amz-server-side-encryption-aws-kms-key-id``, ``x-amz-acl``, ``x-amz-tagging``,
``Expires``; boto3's spellings (``ContentType``, ``StorageClass``, ...) work too.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import mimetypes
import os
import re
import threading
from collections.abc import Mapping
from typing import Any

from s3po._types import Headers
from s3po.codecs import encoding_tokens
from s3po.errors import InvalidRequest

__all__ = ["guess_content_type", "parse_headers"]

_FIELDS = {
    "content-type": "content_type",
    "contenttype": "content_type",
    "content-encoding": "content_encoding",
    "contentencoding": "content_encoding",
    "cache-control": "cache_control",
    "cachecontrol": "cache_control",
    "content-disposition": "content_disposition",
    "contentdisposition": "content_disposition",
    "content-language": "content_language",
    "contentlanguage": "content_language",
}

_EXTRA = {
    "x-amz-storage-class": "StorageClass",
    "storageclass": "StorageClass",
    "x-amz-server-side-encryption": "ServerSideEncryption",
    "serversideencryption": "ServerSideEncryption",
    "x-amz-server-side-encryption-aws-kms-key-id": "SSEKMSKeyId",
    "ssekmskeyid": "SSEKMSKeyId",
    "x-amz-acl": "ACL",
    "acl": "ACL",
    "x-amz-tagging": "Tagging",
    "tagging": "Tagging",
    "expires": "Expires",
    "x-amz-website-redirect-location": "WebsiteRedirectLocation",
}

_META_PREFIX = "x-amz-meta-"
#: Characters S3 refuses in header values.
_BAD = re.compile("[\r\n\x00]")
#: A metadata name S3 keeps as given: ASCII letters, digits, '-', '_' and '.'.
_META_NAME = re.compile(r"[A-Za-z0-9._-]+")


def parse_headers(
    headers: Mapping[str, Any] | Headers | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Headers | None:
    """Build :class:`~s3po.Headers` from HTTP-style names and a metadata mapping.

    Returns None when both are empty.

    Raises:
        InvalidRequest: A name s3po does not know, or a value S3 would refuse.

    .. versionadded:: 0.1.0
    """
    if isinstance(headers, Headers):
        if not metadata:
            return headers
        return Headers(
            **{f: getattr(headers, f) for f in _FIELDS.values()},
            metadata={**headers.metadata, **_check_meta(metadata)},
            extra=headers.extra,
        )
    if not headers and not metadata:
        return None
    fields: dict[str, str] = {}
    meta: dict[str, str] = {}
    extra: dict[str, str] = {}
    for name, value in (headers or {}).items():
        lower = name.strip().lower()
        _check_value(name, value)
        if lower in _FIELDS:
            fields[_FIELDS[lower]] = value
        elif lower.startswith(_META_PREFIX):
            meta.update(_check_meta({lower: value}))
        elif lower in _EXTRA:
            extra[_EXTRA[lower]] = value
        elif lower == "metadata" and isinstance(value, Mapping):
            meta.update(_check_meta(value))
        else:
            raise InvalidRequest(
                f"unsupported header {name!r}; use Content-Type, Cache-Control, "
                "Content-Disposition, Content-Language, Content-Encoding, x-amz-meta-<name>, "
                "or metadata={...} for user metadata"
            )
    meta.update(_check_meta(metadata or {}))
    return Headers(**fields, metadata=meta, extra=extra)


#: The media type of a file whose extension names only a compression (``.gz``), for the
#: encodings :mod:`mimetypes` knows: the file stored as is is that compressed format.
_COMPRESSED_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}
_MIME_LOCK = threading.Lock()


def guess_content_type(
    path: str | os.PathLike[str], content_encoding: str | None = None
) -> str | None:
    """The Content-Type of a file uploaded from ``path``, guessed from its extension.

    :mod:`mimetypes` decides (its built-in table and the system's ``mime.types``), as for
    aws-cli. A name that ends in a compression's extension (``rows.json.gz``) is that
    compressed format (``application/gzip``) when the bytes are stored as they are, and the
    type of the content (``application/json``) when they are uploaded with that
    ``content_encoding`` (``Content-Encoding: gzip``), which a reader undoes. None when the
    extension says nothing.

    .. versionadded:: 0.4.0
    """
    with _MIME_LOCK:  # the first call reads the system's tables; once, not from each thread
        if not mimetypes.inited:
            mimetypes.init()
    kind, encoding = mimetypes.guess_type(os.fspath(path))
    if encoding is None:
        return kind
    if encoding in encoding_tokens(content_encoding):
        return kind
    return _COMPRESSED_TYPES.get(encoding)


def _check_value(name: str, value: object) -> None:
    if not isinstance(value, str):
        if isinstance(value, Mapping) and name.lower() == "metadata":
            return
        raise InvalidRequest(f"header {name!r} must be a str, not {type(value).__name__}")
    if _BAD.search(value):
        raise InvalidRequest(f"header {name!r} contains a line break or NUL, which S3 refuses")


def _check_meta(metadata: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for name, value in metadata.items():
        lower = name.strip().lower().removeprefix(_META_PREFIX)
        if _META_NAME.fullmatch(lower) is None:
            raise InvalidRequest(
                f"metadata name {name!r} must be ASCII letters, digits, '-', '_' or '.'"
            )
        _check_value(f"x-amz-meta-{lower}", value)
        if not value.isascii():
            raise InvalidRequest(
                f"metadata {name!r} must be ASCII (S3 stores metadata in HTTP headers); "
                "encode other text first"
            )
        out[lower] = value
    return out
