"""Optional backend operations: listing and deleting buckets, presigned URLs, listing parts.

Not every store has them (a folder of files cannot sign a URL), so they are not part of
:class:`~s3po.backend.Backend`. A backend that can do them implements :class:`BucketAdmin`,
:class:`Presigner` or :class:`PartLister` as well; :func:`bucket_admin`, :func:`presigner`
and :func:`list_parts` use the backend as that interface, or raise
:class:`~s3po.NotSupported` naming the backend.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from s3po.errors import NotSupported

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator

    from s3po.backend.models import PartInfo
    from s3po.backend.protocol import Backend

__all__ = [
    "PRESIGN_METHODS",
    "BucketAdmin",
    "BucketInfo",
    "PartLister",
    "Presigner",
    "bucket_admin",
    "list_parts",
    "presigner",
]

#: The HTTP methods a presigned URL may be made for.
PRESIGN_METHODS = ("GET", "PUT")


@dataclass(frozen=True, slots=True)
class BucketInfo:
    """A bucket as listed.

    Attributes:
        name: The bucket's name.
        created: When it was created, if the store says.

    .. versionadded:: 0.4.0
    """

    name: str
    created: dt.datetime | None = None


@runtime_checkable
class BucketAdmin(Protocol):
    """Listing and deleting buckets.

    .. versionadded:: 0.4.0
    """

    def list_buckets(self) -> Iterator[BucketInfo]:
        """Yield the buckets these credentials can see, by name."""
        ...

    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket; raise :class:`~s3po.NoSuchBucket` if it is missing.

        A bucket that still holds objects raises :class:`~s3po.BackendError`; empty it first.
        """
        ...


@runtime_checkable
class Presigner(Protocol):
    """URLs that let their holder read or write one object without credentials.

    .. versionadded:: 0.4.0
    """

    def presign(self, method: str, bucket: str, key: str, *, expires_in: int) -> str:
        """A URL for ``method`` (``GET`` or ``PUT``) on the object, valid ``expires_in`` s."""
        ...


@runtime_checkable
class PartLister(Protocol):
    """Listing the parts an incomplete multipart upload holds (S3's ListParts).

    A resumed upload (``upload_file(..., resume=True)``) asks the store which parts it
    already has, rather than trusting its own journal.

    .. versionadded:: 0.4.0
    """

    def list_parts(self, bucket: str, key: str, upload_id: str) -> Iterator[PartInfo]:
        """Yield the stored parts of ``upload_id`` by number, with their ETags and sizes.

        Raises:
            NoSuchUpload: The upload is not (or no longer) open.
        """
        ...


def list_parts(backend: Backend, bucket: str, key: str, upload_id: str) -> Iterator[PartInfo]:
    """The stored parts of ``upload_id``, from ``backend`` as a :class:`PartLister`.

    Raises:
        NotSupported: The backend cannot list the parts of an upload.
        NoSuchUpload: The upload is not (or no longer) open.

    .. versionadded:: 0.4.0
    """
    if not isinstance(backend, PartLister):
        raise NotSupported(f"the {backend.name!r} backend cannot list the parts of an upload")
    return backend.list_parts(bucket, key, upload_id)


def bucket_admin(backend: Backend) -> BucketAdmin:
    """``backend`` as a :class:`BucketAdmin`.

    Raises:
        NotSupported: The backend cannot list or delete buckets.

    .. versionadded:: 0.4.0
    """
    if not isinstance(backend, BucketAdmin):
        raise NotSupported(f"the {backend.name!r} backend cannot list or delete buckets")
    return backend


def presigner(backend: Backend) -> Presigner:
    """``backend`` as a :class:`Presigner`.

    Raises:
        NotSupported: The backend cannot make presigned URLs (the local backend keeps files
            on this machine, which no URL can reach).

    .. versionadded:: 0.4.0
    """
    if not isinstance(backend, Presigner):
        raise NotSupported(
            f"the {backend.name!r} backend cannot make presigned URLs; "
            "presigning needs an S3 store (--backend s3 or obstore)"
        )
    return backend
