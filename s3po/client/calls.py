"""The public calls, written once and shared by Connection, Batch and background work.

Each call checks its arguments, then hands a zero-argument function to ``_dispatch``, which
runs it now (a plain call), in the background, or in a batch. The seed API's camelCase names
are aliases of the snake_case ones; the original's other spellings are in
:mod:`~s3po.client.legacy`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from s3po._headers import parse_headers
from s3po._types import Headers
from s3po.client.base import UNSET, CallBase, Defaults, M, Owner
from s3po.client.legacy import LegacyCalls
from s3po.client.options import check_options
from s3po.errors import NotFound
from s3po.validation import check_bucket, check_key

if TYPE_CHECKING:
    from s3po._types import CommonPrefix, GetResult, ObjectInfo

__all__ = ["UNSET", "CallBase", "Calls", "CallsOf", "Defaults", "Owner"]


class CallsOf(LegacyCalls[M]):
    """Every call, in both spellings; subclasses decide where calls run (see CallBase)."""

    # -- objects --------------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Return an object's size, ETag, headers and metadata.

        .. versionadded:: 0.1.0
        """
        return self._conn.transfer.head(bucket, key)

    def open(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
        decompress: bool = True,
        retries: int | None = None,
    ) -> GetResult:
        """Open an object as a stream: its whole content, or stored bytes ``[start, end)``.

        With neither ``start`` nor ``end`` the content is decoded by its Content-Encoding
        (unless ``decompress=False``) and verified against its s3po checksum as it is read,
        as :meth:`download_bytes` does, without holding it in memory. Given a range or
        ``if_match``, it returns the stored bytes of the range as they are: an encoded
        object's range is not decoded, and no checksum of the whole can be checked.
        ``if_match`` pins the read to an ETag (:class:`~s3po.PreconditionFailed` if the
        object changed). Both go through the retry layer; close the result (use it in a
        ``with`` block). ``result.info.size`` is the whole object's stored size.

        .. versionadded:: 0.4.0
        """
        check_options("open", retries=retries, decompress=decompress)
        conn = self._conn
        if start == 0 and end is None and if_match is None:
            config = conn.config_for(retries=retries, decompress=decompress)
            return conn.transfer.open(bucket, key, config=config)
        check_bucket(bucket)
        check_key(key)
        config = conn.config_for(retries=retries, decompress=False)
        stack = conn.transfer.stack(config)
        return stack.get(bucket, key, start=start, end=end, if_match=if_match)

    def exists(self, bucket: str, key: str) -> bool:
        """Whether the object exists.

        .. versionadded:: 0.1.0
        """
        try:
            self._conn.transfer.head(bucket, key)
        except NotFound:
            return False
        return True

    def delete(self, bucket: str, key: str) -> None:
        """Delete an object (a missing key is not an error, as on S3).

        .. versionadded:: 0.1.0
        """
        self._conn.transfer.delete(bucket, key)

    def list(
        self, bucket: str, prefix: str = "", *, delimiter: str | None = None
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """Yield the objects under ``prefix`` in key order (and folders, with ``delimiter``).

        .. versionadded:: 0.1.0
        """
        return self._conn.transfer.list(bucket, prefix, delimiter)

    def list_names(self, bucket: str, prefix: str = "") -> builtins.list[str]:
        """The keys under ``prefix``, in order.

        .. versionadded:: 0.1.0
        """
        return [entry.key for entry in self.list(bucket, prefix) if hasattr(entry, "key")]

    def create_bucket(self, bucket: str) -> None:
        """Create a bucket (an existing one of yours is fine).

        .. versionadded:: 0.1.0
        """
        self._conn.transfer.create_bucket(bucket)

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        headers: Mapping[str, Any] | Headers | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Copy an object inside the store; new ``headers``/``metadata`` replace the old.

        .. versionadded:: 0.1.0
        """
        return self._conn.transfer.copy(
            src_bucket, src_key, bucket, key, headers=parse_headers(headers, metadata)
        )

    # -- the seed API's spellings ---------------------------------------------------------
    listNames = list_names  # noqa: N815
    createBucket = create_bucket  # noqa: N815


#: The calls of a front end of either mode (for code that takes a Connection or a Batch).
Calls: TypeAlias = CallsOf[Any]
