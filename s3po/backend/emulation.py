"""S3's rules for backends that emulate it on storage that has none (files, fsspec).

Shared by the local, fsspec and memory plugins, and free for third-party backends: key
order and delimiter folding of a listing, the ETag of single and multipart uploads
(:func:`multipart_etag` is the one definition of S3's ``md5-of-md5s-N``), and the checks
S3 applies when a multipart upload is completed. The multipart upload itself, written once
over a small store protocol, is :mod:`s3po.backend.multipart`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from s3po.backend.models import CommonPrefix, Headers, PartInfo, WriteCondition
from s3po.backend.protocol import Capabilities
from s3po.errors import InvalidPart, PreconditionFailed

__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "check_part_number",
    "check_part_plan",
    "check_write",
    "fold_listing",
    "headers_from_record",
    "headers_to_record",
    "multipart_etag",
    "multipart_etag_from",
    "read_range",
    "s3_key_order",
    "write_refused",
]

#: The Content-Type S3 gives an object stored without one.
DEFAULT_CONTENT_TYPE = "binary/octet-stream"

_HEADER_FIELDS = (
    "content_type",
    "content_encoding",
    "cache_control",
    "content_disposition",
    "content_language",
)


def headers_to_record(headers: Headers, *, default_type: str | None = None) -> dict[str, Any]:
    """:class:`~s3po.Headers` as a JSON-ready dict, for backends that store them beside data.

    .. versionadded:: 0.1.0
    """
    record: dict[str, Any] = {f: getattr(headers, f) for f in _HEADER_FIELDS}
    if default_type is not None and not record["content_type"]:
        record["content_type"] = default_type
    record["metadata"] = dict(headers.metadata)
    record["extra"] = dict(headers.extra)
    return record


def headers_from_record(record: dict[str, Any]) -> Headers:
    """The inverse of :func:`headers_to_record`.

    .. versionadded:: 0.1.0
    """
    return Headers(
        **{f: record.get(f) for f in _HEADER_FIELDS},
        metadata=record.get("metadata", {}),
        extra=record.get("extra", {}),
    )


T = TypeVar("T")


def s3_key_order(key: str) -> bytes:
    """Sort key giving S3's listing order (by the UTF-8 bytes of the key).

    .. versionadded:: 0.1.0
    """
    return key.encode("utf-8")


def fold_listing(
    keys: Iterable[str],
    prefix: str,
    delimiter: str | None,
    describe: Callable[[str], T | None],
    *,
    start_after: str | None = None,
) -> Iterator[T | CommonPrefix]:
    """Yield S3's listing of ``keys``: sorted, under ``prefix``, folded at ``delimiter``.

    ``describe`` turns a key into its entry (None skips a key that vanished meanwhile).
    ``start_after`` skips every key and common prefix that sorts at or before it.

    .. versionadded:: 0.1.0
    """
    seen: set[str] = set()
    after = s3_key_order(start_after) if start_after else None
    for key in sorted((k for k in keys if k.startswith(prefix)), key=s3_key_order):
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                if common not in seen and (after is None or s3_key_order(common) > after):
                    seen.add(common)
                    yield CommonPrefix(common)
                continue
        if after is not None and s3_key_order(key) <= after:
            continue
        entry = describe(key)
        if entry is not None:
            yield entry


def multipart_etag(part_digests: Sequence[bytes]) -> str:
    """The ETag S3 gives a multipart upload: MD5 of the parts' MD5s, then ``-N``.

    .. versionadded:: 0.1.0
    """
    joined = hashlib.md5(b"".join(part_digests)).hexdigest()  # noqa: S324 - S3's definition
    return f"{joined}-{len(part_digests)}"


_MD5_HEX = re.compile(r"[0-9a-f]{32}")


def multipart_etag_from(part_etags: Sequence[str]) -> str | None:
    """S3's ETag of a multipart upload from its parts' ETags (quoted or not).

    None when there are no parts or a part's ETag is not a plain MD5 in hex (an ETag of
    another form, such as a server's encrypted one, says nothing of the object's).

    .. versionadded:: 0.4.0
    """
    plain = [etag.strip('"') for etag in part_etags]
    if not plain or not all(_MD5_HEX.fullmatch(etag) for etag in plain):
        return None
    return multipart_etag([bytes.fromhex(etag) for etag in plain])


def read_range(
    etag: str,
    size: int,
    start: int,
    end: int | None,
    if_match: str | None,
    bucket: str,
    key: str,
    backend: str,
) -> tuple[int, int]:
    """Apply a GET's If-Match and clamp ``[start, end)`` to the object, as S3 does.

    Raises:
        PreconditionFailed: ``if_match`` names another ETag (the object changed).

    .. versionadded:: 0.1.0
    """
    if if_match is not None and if_match.strip('"') != etag:
        raise PreconditionFailed(
            f"the object changed: ETag is {etag!r}, expected {if_match!r}",
            bucket=bucket,
            key=key,
            backend=backend,
        )
    stop = size if end is None else min(end, size)
    return min(max(start, 0), stop), stop


def write_refused(
    condition: WriteCondition,
    current: str | None,
    bucket: str,
    key: str,
    backend: str,
    *,
    known: bool = True,
) -> PreconditionFailed:
    """The error of a write whose ``condition`` failed on a key holding ETag ``current``.

    ``known=False``: the store refused without saying what the key holds (an S3 server's
    412), so ``current`` is not named.

    .. versionadded:: 0.4.0
    """
    if not condition.if_none_match and not known:
        why = (
            f"the write was to replace only the object with ETag {condition.etag!r} "
            "(if_match), but the key holds another version now, or none; nothing was "
            "written: read it again and decide"
        )
    elif condition.if_none_match:
        why = (
            "the key holds an object already and the write was to create it only "
            "(if_none_match='*'); nothing was replaced: delete it first, or write without "
            "the condition to replace it"
        )
    elif current is None:
        why = (
            f"the write was to replace only the object with ETag {condition.etag!r} "
            "(if_match), but the key holds no object now (deleted meanwhile?); nothing was "
            "written"
        )
    else:
        why = (
            f"the write was to replace only the object with ETag {condition.etag!r} "
            f"(if_match), but the key holds ETag {current!r} now (another writer replaced "
            "it); nothing was written: read it again and decide"
        )
    return PreconditionFailed(why, bucket=bucket, key=key, backend=backend)


def check_write(
    condition: WriteCondition | None, current: str | None, bucket: str, key: str, backend: str
) -> None:
    """Raise :func:`write_refused`'s error unless ``condition`` allows the write.

    ``current`` is the ETag the key holds (None: no object). A store that emulates S3 must
    call it inside the step that commits (under the lock, or as the no-replace link), so no
    other write lands between the check and the commit.

    .. versionadded:: 0.4.0
    """
    if condition is not None and not condition.holds(current):
        raise write_refused(condition, current, bucket, key, backend)


def check_part_number(number: int, caps: Capabilities, bucket: str, key: str, backend: str) -> None:
    """Refuse a part number outside ``1..caps.max_parts``, as S3 does.

    .. versionadded:: 0.1.0
    """
    if not 1 <= number <= caps.max_parts:
        raise InvalidPart(
            f"part number {number} is outside 1..{caps.max_parts}",
            bucket=bucket,
            key=key,
            backend=backend,
        )


def check_part_plan(
    parts: Sequence[PartInfo],
    sizes: Callable[[int], int | None],
    caps: Capabilities,
    refuse: Callable[[str], InvalidPart],
) -> None:
    """Apply S3's CompleteMultipartUpload checks.

    Args:
        parts: The parts named by the caller.
        sizes: Part number to its stored size, None if it was never uploaded.
        caps: The limits to apply.
        refuse: Builds the error to raise, from the reason.

    Raises:
        InvalidPart: No parts, too many, out of order, missing, or too small.

    .. versionadded:: 0.1.0
    """
    if not parts:
        raise refuse("a multipart upload needs at least one part")
    if len(parts) > caps.max_parts:
        raise refuse(f"{len(parts)} parts exceed the limit of {caps.max_parts}")
    numbers = [p.part_number for p in parts]
    if numbers != sorted(set(numbers)):
        raise refuse("parts must be listed in ascending order without repeats")
    for i, part in enumerate(parts):
        size = sizes(part.part_number)
        if size is None:
            raise refuse(f"part {part.part_number} was never uploaded")
        if i < len(parts) - 1 and size < caps.min_part_size:
            raise refuse(
                f"part {part.part_number} is {size} bytes; every part but the last must be "
                f"at least {caps.min_part_size} bytes (EntityTooSmall)"
            )
