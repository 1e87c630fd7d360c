"""The storage interface every backend and every middleware layer implements.

A :class:`Backend` speaks S3's verbs in their plainest form: one request each. Middleware
wraps a backend in another backend (see :class:`ForwardingBackend`), so the retry, codec and
chunking layers and the storage plugins all share one shape.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from s3po.backend.admin import list_parts
from s3po.backend.bodies import MIB
from s3po.errors import ConfigError, NotSupported

if TYPE_CHECKING:
    from s3po.backend.bodies import PartBody, UploadBody
    from s3po.backend.models import (
        CommonPrefix,
        GetResult,
        Headers,
        MultipartUpload,
        ObjectInfo,
        PartInfo,
        WriteCondition,
    )

__all__ = [
    "ALL_CONDITIONS",
    "WIRE_CHECKSUMS",
    "Backend",
    "Capabilities",
    "ForwardingBackend",
    "Middleware",
    "conditioned",
]

#: Every conditional write a backend can honour: the request, then the header.
ALL_CONDITIONS = frozenset(
    {"put-if-none-match", "put-if-match", "complete-if-none-match", "complete-if-match"}
)

#: Every wire checksum algorithm a backend can honour (``checksum_algorithm=``): sent with
#: each write for the store to verify, and kept with the object.
WIRE_CHECKSUMS = frozenset({"crc32", "crc32c", "crc64nvme"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    """Limits a backend imposes on multipart uploads.

    Attributes:
        min_part_size: Smallest part but the last, in bytes (S3: 5 MiB).
        max_part_size: Largest part, in bytes (S3: 5 GiB).
        max_parts: Most parts in one upload (S3: 10,000).
        max_connections: Connections the backend keeps open at once; 0 means unbounded.
        conditions: The conditional writes the backend honours atomically, from
            :data:`ALL_CONDITIONS` (``"put-if-none-match"``, ``"put-if-match"``,
            ``"complete-if-none-match"``, ``"complete-if-match"``). Default: none, so a
            condition given to a backend that never declared it is refused with
            :class:`~s3po.NotSupported` before any I/O rather than ignored.
        checksum_algorithms: The wire checksum algorithms the backend sends with each
            write and keeps with the object, from :data:`WIRE_CHECKSUMS` (``"crc32"``,
            ``"crc32c"``, ``"crc64nvme"``). Default: none, so asking a backend for one
            it never declared (``checksum_algorithm=``) is refused with
            :class:`~s3po.NotSupported` before any I/O rather than silently not sent.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.4.0
       ``conditions``, ``checksum_algorithms``.
    """

    min_part_size: int = 5 * MIB
    max_part_size: int = 5 * 1024 * MIB
    max_parts: int = 10_000
    max_connections: int = 0
    conditions: frozenset[str] = frozenset()
    checksum_algorithms: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """Refuse names outside :data:`ALL_CONDITIONS` and :data:`WIRE_CHECKSUMS`."""
        unknown = self.conditions - ALL_CONDITIONS
        if unknown:
            raise ConfigError(
                f"conditions= names unknown conditional writes {sorted(unknown)}"
                f"; choose from {sorted(ALL_CONDITIONS)}"
            )
        unknown = self.checksum_algorithms - WIRE_CHECKSUMS
        if unknown:
            raise ConfigError(
                f"checksum_algorithms= names unknown algorithms {sorted(unknown)}"
                f"; choose from {sorted(WIRE_CHECKSUMS)}"
            )

    def supports(self, request: str, condition: WriteCondition) -> bool:
        """Whether ``request`` (``"put"`` or ``"complete"``) honours ``condition``."""
        header = "if-none-match" if condition.if_none_match else "if-match"
        return f"{request}-{header}" in self.conditions

    def require_checksum(self, algorithm: str, backend: str) -> None:
        """Refuse a wire ``algorithm`` the backend never declared (``"md5"`` always passes).

        Raises:
            NotSupported: The backend never declared the algorithm.

        .. versionadded:: 0.4.0
        """
        name = algorithm.lower()
        if name in WIRE_CHECKSUMS and name not in self.checksum_algorithms:
            declared = sorted(self.checksum_algorithms) or "none"
            raise NotSupported(
                f"the {backend} backend cannot send {name.upper()} checksums (it declares "
                f"{declared}); choose another checksum_algorithm or another backend"
            )


@runtime_checkable
class Backend(Protocol):
    """The storage interface: one method per S3 request.

    Implementations translate their own errors into :mod:`s3po.errors` with
    ``raise ... from exc``, and raise :class:`~s3po.TransientError` for failures worth
    repeating. They must be safe to call from many threads at once.

    .. versionadded:: 0.1.0
    """

    #: The name the backend was registered under (for messages).
    name: str
    #: Multipart limits.
    capabilities: Capabilities

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Return the object's information, or raise :class:`~s3po.NoSuchKey`."""
        ...

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
        ...

    def put(
        self,
        bucket: str,
        key: str,
        body: UploadBody,
        *,
        headers: Headers,
        size: int | None = None,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Store an object in one request; ``size`` is a hint for streams.

        ``condition`` is checked in the step that commits, atomically; when it does not
        hold, :class:`~s3po.PreconditionFailed` is raised and nothing changes.
        """
        ...

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object; deleting a missing key is not an error (as on S3)."""
        ...

    def list(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str | None = None,
        *,
        start_after: str | None = None,
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """Yield objects (and common prefixes) under ``prefix`` in key order.

        ``start_after`` skips every entry whose key (or common prefix) sorts at or before
        it, so a listing cut off by a failure resumes after the last entry it yielded. A
        listing that cannot be finished raises; it never ends early as if it were complete.
        """
        ...

    def create_bucket(self, bucket: str) -> None:
        """Create a bucket; an existing bucket you own is not an error."""
        ...

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        headers: Headers | None = None,
    ) -> ObjectInfo:
        """Copy an object inside the store; ``headers`` replaces the metadata if given."""
        ...

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        """Begin a multipart upload; return its upload id."""
        ...

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: PartBody
    ) -> PartInfo:
        """Upload one part (numbered from 1)."""
        ...

    def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        *,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Assemble the parts into the object; ``condition`` as for :meth:`put`.

        When the condition fails the upload stays (as on S3): the caller aborts it.
        """
        ...

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard an upload and its parts."""
        ...

    def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """Yield incomplete multipart uploads under ``prefix``."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


def conditioned(condition: WriteCondition | None) -> dict[str, WriteCondition]:
    """The keyword arguments that pass ``condition`` on: none at all when it is None.

    So a backend or a middleware written before conditions existed (whose ``put`` and
    ``complete_multipart`` take no ``condition``) keeps working for every unconditional
    write; a conditional one reaches it only if it declared the condition in
    :attr:`Capabilities.conditions`.

    .. versionadded:: 0.4.0
    """
    return {} if condition is None else {"condition": condition}


#: A middleware takes the backend below it and returns the backend above it.
Middleware = Callable[[Backend], Backend]


class ForwardingBackend:
    """A backend that forwards every call to ``inner``; middleware overrides what it changes.

    .. versionadded:: 0.1.0
    """

    name: str
    capabilities: Capabilities

    def __init__(self, inner: Backend) -> None:
        """Wrap ``inner``."""
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Forward to the inner backend."""
        return self.inner.head(bucket, key)

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> GetResult:
        """Forward to the inner backend."""
        return self.inner.get(bucket, key, start=start, end=end, if_match=if_match)

    def put(
        self,
        bucket: str,
        key: str,
        body: UploadBody,
        *,
        headers: Headers,
        size: int | None = None,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Forward to the inner backend."""
        return self.inner.put(
            bucket, key, body, headers=headers, size=size, **conditioned(condition)
        )

    def delete(self, bucket: str, key: str) -> None:
        """Forward to the inner backend."""
        self.inner.delete(bucket, key)

    def list(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str | None = None,
        *,
        start_after: str | None = None,
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """Forward to the inner backend."""
        return self.inner.list(bucket, prefix, delimiter, start_after=start_after)

    def create_bucket(self, bucket: str) -> None:
        """Forward to the inner backend."""
        self.inner.create_bucket(bucket)

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        headers: Headers | None = None,
    ) -> ObjectInfo:
        """Forward to the inner backend."""
        return self.inner.copy(src_bucket, src_key, bucket, key, headers=headers)

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        """Forward to the inner backend."""
        return self.inner.start_multipart(bucket, key, headers=headers)

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: PartBody
    ) -> PartInfo:
        """Forward to the inner backend."""
        return self.inner.put_part(bucket, key, upload_id, part_number, data)

    def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        *,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Forward to the inner backend."""
        return self.inner.complete_multipart(
            bucket, key, upload_id, parts, **conditioned(condition)
        )

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        """Forward to the inner backend."""
        self.inner.abort_multipart(bucket, key, upload_id)

    def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """Forward to the inner backend."""
        return self.inner.list_multipart(bucket, prefix)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> Iterator[PartInfo]:
        """Forward to the inner backend (:class:`~s3po.NotSupported` if it cannot list parts).

        .. versionadded:: 0.4.0
        """
        return list_parts(self.inner, bucket, key, upload_id)

    def close(self) -> None:
        """Closing a layer never closes the shared backend below; the Transfer does that."""

    def __repr__(self) -> str:
        """Show the stack."""
        return f"{type(self).__name__}({self.inner!r})"
