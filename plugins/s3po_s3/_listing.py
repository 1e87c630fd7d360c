"""The S3 backend's listings and bucket calls: ListObjectsV2, buckets, presigned URLs.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

import botocore.exceptions as bce

import s3po
from s3po.backend import CommonPrefix, ObjectInfo
from s3po.backend.admin import PRESIGN_METHODS, BucketInfo
from s3po_s3._convert import entry_key, unquote, utc
from s3po_s3._errors import error_code
from s3po_s3._session import S3Session

__all__ = ["S3Listing"]


class S3Listing(S3Session):
    """Listings, buckets and presigned URLs (the part of :class:`~s3po_s3.backend.S3Backend`)."""

    def list(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str | None = None,
        *,
        start_after: str | None = None,
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """Yield objects and common prefixes under ``prefix`` in key order (ListObjectsV2).

        ``start_after`` goes to the server as ``StartAfter``; a common prefix it ends
        (the server folds the keys under it into the same prefix again) is skipped here.
        """
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if delimiter:
            params["Delimiter"] = delimiter
        if start_after:
            params["StartAfter"] = start_after
        after = start_after.encode("utf-8") if start_after else None
        with self._errors("list", bucket, prefix or None):
            pages = iter(self._client.get_paginator("list_objects_v2").paginate(**params))
        while True:
            with self._errors("list", bucket, prefix or None):
                page = next(pages, None)
            if page is None:
                return
            objects = (
                ObjectInfo(
                    bucket=bucket,
                    key=item["Key"],
                    size=item["Size"],
                    etag=unquote(item.get("ETag")),
                    last_modified=utc(item.get("LastModified")),
                )
                for item in page.get("Contents", ())
            )
            prefixes = (CommonPrefix(p["Prefix"]) for p in page.get("CommonPrefixes", ()))
            merged: Iterator[ObjectInfo | CommonPrefix] = heapq.merge(
                objects, prefixes, key=entry_key
            )
            if after is None:
                yield from merged
            else:
                yield from (e for e in merged if entry_key(e).encode("utf-8") > after)

    def create_bucket(self, bucket: str) -> None:
        """Create the bucket; one that exists and is reachable with these credentials is fine."""
        params: dict[str, Any] = {"Bucket": bucket}
        if self.region_name and self.region_name != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region_name}
        with self._errors("create_bucket", bucket):
            try:
                self._client.create_bucket(**params)
            except bce.ClientError as exc:
                code = error_code(exc)
                if code == "BucketAlreadyOwnedByYou":
                    return
                if code != "BucketAlreadyExists":
                    raise
                try:
                    self._client.head_bucket(Bucket=bucket)
                except (bce.ClientError, bce.BotoCoreError):
                    raise s3po.AccessDenied(
                        f"bucket {bucket!r} belongs to another account at {self._where}; "
                        "bucket names are global, choose another",
                        bucket=bucket,
                        backend=self.name,
                    ) from exc

    # -- bucket administration and presigned URLs (s3po.backend.admin) ---------------------

    def list_buckets(self) -> Iterator[BucketInfo]:
        """Yield the buckets these credentials can see (ListBuckets), by name."""
        with self._errors("list_buckets", ""):
            response = self._client.list_buckets()
        for item in sorted(response.get("Buckets", ()), key=lambda b: b.get("Name", "")):
            yield BucketInfo(item.get("Name", ""), utc(item.get("CreationDate")))

    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket (DeleteBucket)."""
        with self._errors("delete_bucket", bucket):
            self._client.delete_bucket(Bucket=bucket)

    def presign(self, method: str, bucket: str, key: str, *, expires_in: int) -> str:
        """A SigV4 URL for ``GET`` or ``PUT`` of ``s3://bucket/key``, valid ``expires_in`` s."""
        if method not in PRESIGN_METHODS:
            raise s3po.InvalidRequest(f"presign takes {PRESIGN_METHODS}, not {method!r}")
        operation = "get_object" if method == "GET" else "put_object"
        with self._errors("presign", bucket, key):
            return self._client.generate_presigned_url(
                ClientMethod=operation,
                Params={"Bucket": bucket, "Key": key},
                ExpiresIn=expires_in,
            )
