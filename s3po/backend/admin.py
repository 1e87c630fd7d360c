"""Optional backend operations: listing and deleting buckets, and presigned URLs.

Not every store has them (a folder of files cannot sign a URL), so they are not part of
:class:`~s3po.backend.Backend`. A backend that can do them implements :class:`BucketAdmin`
or :class:`Presigner` as well; :func:`bucket_admin` and :func:`presigner` return the
backend as that interface, or raise :class:`~s3po.NotSupported` naming the backend.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from s3po.errors import NotSupported

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator

    from s3po.backend.protocol import Backend

__all__ = ["PRESIGN_METHODS", "BucketAdmin", "BucketInfo", "Presigner", "bucket_admin", "presigner"]

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
