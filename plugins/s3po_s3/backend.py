"""The S3 backend: Amazon S3 and S3-compatible stores through one shared boto3 client.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import contextlib
import heapq
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
import botocore.exceptions as bce

import s3po
from s3po.backend import (
    BytesBody,
    Capabilities,
    CommonPrefix,
    FileWindow,
    GetResult,
    Headers,
    MultipartUpload,
    ObjectInfo,
    PartBody,
    PartInfo,
)
from s3po.backend.admin import PRESIGN_METHODS, BucketInfo
from s3po_s3._client import (
    ADDRESSING_STYLE_ENV,
    CHECKSUM_ENV,
    ENDPOINT_URL_ENV,
    PROFILE_ENV,
    REGION_ENV,
    ClientOptions,
    resolve_client,
)
from s3po_s3._convert import (
    CONTENT_RANGE,
    as_bytes,
    content_crc32,
    content_md5,
    entry_key,
    header_params,
    headers_from,
    multipart_etag,
    quote,
    unquote,
    utc,
)
from s3po_s3._errors import StreamBody, error_code, status_code, translate

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

    from s3po.backend import UploadBody

__all__ = [
    "ADDRESSING_STYLE_ENV",
    "CHECKSUM_ENV",
    "ENDPOINT_URL_ENV",
    "PROFILE_ENV",
    "REGION_ENV",
    "S3Backend",
]

T = TypeVar("T")

#: Part size preferred when copying objects too large for one CopyObject.
_COPY_PART = 1024 * 1024 * 1024


@contextlib.contextmanager
def _window_changes(body: object) -> Iterator[None]:
    """Re-raise the SourceChanged a file window raised from its ``read``, however wrapped.

    botocore (and awscrt, which signs some requests) turn an exception raised by a body's
    ``read`` into errors of their own; the request was not completed either way, and the
    caller must learn that the file changed, not that the request failed.
    """
    try:
        yield
    except Exception as exc:
        changed = body.changed if isinstance(body, FileWindow) else None
        if changed is not None and changed is not exc:
            raise changed from exc
        raise


class S3Backend:
    """Objects on Amazon S3 or an S3-compatible store (MinIO, SeaweedFS, Ceph, R2, ...).

    One boto3 client is made in the constructor and shared by every thread (clients are
    thread-safe; sessions are not). botocore's own retries are off
    (``total_max_attempts=1``) so that s3po's retry layer is the only one, and its pool
    holds ``max_pool_connections`` connections so batches never see "Connection pool is
    full". Every option but the credentials and ready-made objects may also come from the
    environment; credentials follow boto3's usual chain (``AWS_ACCESS_KEY_ID``, profiles,
    instance roles).

    Checksums: every PUT and part carries a checksum the server verifies, so a body
    damaged on the way is refused and sent again. By default (``checksum="crc32"``) s3po
    computes the CRC32 itself and sends it as the ``x-amz-checksum-crc32`` header (multipart
    uploads are created with ``ChecksumAlgorithm=CRC32`` and completed with each part's
    CRC32); botocore's own checksum calculation stays off, so no request is ever sent with
    aws-chunked trailers, which several S3-compatible stores refuse. ``checksum="md5"``
    sends ``Content-MD5`` instead, for stores that know nothing newer (MD5 costs about five
    times the CPU of CRC32). ``checksum="when_supported"`` hands checksums to botocore
    (boto3's own default: trailers over HTTPS, and validation of whole-object downloads).

    Args:
        endpoint_url: The store's URL (``$S3PO_ENDPOINT_URL``); None means AWS S3.
        region_name: The region (``$S3PO_REGION``, else the profile's, else ``us-east-1``
            when an endpoint is given).
        profile_name: The AWS profile (``$S3PO_PROFILE``).
        aws_access_key_id: Access key; prefer the environment or a profile.
        aws_secret_access_key: Secret key.
        aws_session_token: Session token for temporary credentials.
        session: A ready ``boto3.Session`` to make the client from.
        client: A ready S3 client, used as is (the other connection options must be unset).
        addressing_style: ``"path"``, ``"virtual"`` or ``"auto"`` (``$S3PO_ADDRESSING_STYLE``);
            defaults to ``"path"`` with an endpoint, else ``"auto"``.
        checksum: ``"crc32"`` (default), ``"md5"`` or ``"when_supported"``
            (``$S3PO_CHECKSUM``).
        max_pool_connections: Connections kept open at once (default 64).
        connect_timeout: Seconds to wait for a connection (default 10).
        read_timeout: Seconds to wait for data on a connection (default 20): a server that
            accepts and never answers fails each attempt after this long, so with the
            default 4 attempts a call gives up in about 80 s. A body that trickles in is
            caught by :class:`~s3po.RetryConfig`'s low-speed limit instead.

    Raises:
        ConfigError: An option has a bad value, or options conflict.

    .. versionadded:: 0.1.0
    """

    name = "s3"
    capabilities = Capabilities()

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        profile_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        session: boto3.Session | None = None,
        client: S3Client | None = None,
        addressing_style: str | None = None,
        checksum: str | None = None,
        max_pool_connections: int = 64,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
    ) -> None:
        """Resolve the options; the client is made on the first call that needs it."""
        recipe = resolve_client(
            ClientOptions(
                endpoint_url=endpoint_url,
                region_name=region_name,
                profile_name=profile_name,
                aws_access_key_id=aws_access_key_id,
                aws_secret_access_key=aws_secret_access_key,
                aws_session_token=aws_session_token,
                session=session,
                client=client,
                addressing_style=addressing_style,
                checksum=checksum,
                max_pool_connections=max_pool_connections,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
            )
        )
        self._recipe = recipe
        self._made: S3Client | None = None
        self._making = threading.Lock()
        self.checksum, self._owns_client = recipe.checksum, recipe.owns_client
        self.endpoint_url, self.addressing_style = recipe.endpoint_url, recipe.addressing_style
        self.capabilities = Capabilities(max_connections=max_pool_connections)
        self._uploads: dict[str, Headers] = {}
        #: Only botocore knows the region when nothing names one: make the client now.
        self.region_name = recipe.region_name or self._client.meta.region_name
        self._where = self.endpoint_url or f"AWS S3 ({self.region_name or 'default region'})"

    def __repr__(self) -> str:
        """Show where the backend points (never the credentials)."""
        return f"S3Backend(endpoint_url={self.endpoint_url!r}, region_name={self.region_name!r})"

    @property
    def client(self) -> S3Client:
        """The shared boto3 S3 client (made on first use)."""
        return self._client

    @property
    def _client(self) -> S3Client:
        client = self._made
        if client is None:
            with self._making:
                client = self._made
                if client is None:
                    client = self._made = self._build()
        return client

    def _build(self) -> S3Client:
        try:
            return self._recipe.build()
        except (ValueError, bce.BotoCoreError) as exc:
            raise s3po.ConfigError(
                f"boto3 refused the S3 options for {self.endpoint_url or 'AWS S3'}: {exc}"
            ) from exc

    # -- helpers --------------------------------------------------------------------------

    def _call(self, op: str, bucket: str, key: str | None, fn: Callable[..., T], **kw: Any) -> T:  # noqa: ANN401
        try:
            return fn(**kw)
        except (bce.BotoCoreError, bce.ClientError) as exc:
            raise translate(exc, op=op, bucket=bucket, key=key, where=self._where) from exc

    def _body_check(self, data: bytes | FileWindow) -> dict[str, Any]:
        """The request fields that let the server verify ``data`` under the checksum policy."""
        if self.checksum == "crc32":
            return {"ChecksumCRC32": content_crc32(data)}
        if self.checksum == "md5":
            return {"ContentMD5": content_md5(data)}
        return {"ChecksumAlgorithm": "CRC32"}

    def _no_bucket(self, bucket: str, key: str, op: str, exc: bce.ClientError) -> None:
        """After a bodiless 404, raise NoSuchBucket if it is the bucket that is missing."""
        try:
            self._client.head_bucket(Bucket=bucket)
        except bce.ClientError as bucket_exc:
            if status_code(bucket_exc) == 404:  # noqa: PLR2004 - HTTP status
                raise s3po.NoSuchBucket(
                    f"{op} s3://{bucket}/{key} failed at {self._where}: bucket {bucket!r} does "
                    "not exist; check the bucket name, endpoint and region, or create it with "
                    "create_bucket()",
                    bucket=bucket,
                    key=key,
                    backend=self.name,
                ) from exc
        except bce.BotoCoreError:
            pass

    def _checkunquote(self, info: ObjectInfo, if_match: str | None) -> None:
        if if_match is not None and if_match.strip('"') != info.etag:
            raise s3po.PreconditionFailed(
                f"s3://{info.bucket}/{info.key} changed: its ETag is {info.etag!r}, expected "
                f"{if_match!r}; start the download again",
                bucket=info.bucket,
                key=info.key,
                backend=self.name,
            )

    # -- single objects -------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Return the object's information (HeadObject)."""
        try:
            response = self._client.head_object(Bucket=bucket, Key=key)
        except bce.ClientError as exc:
            if status_code(exc) == 404:  # noqa: PLR2004 - HTTP status
                self._no_bucket(bucket, key, "head", exc)
            raise translate(exc, op="head", bucket=bucket, key=key, where=self._where) from exc
        except bce.BotoCoreError as exc:
            raise translate(exc, op="head", bucket=bucket, key=key, where=self._where) from exc
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=response["ContentLength"],
            etag=unquote(response.get("ETag")),
            last_modified=utc(response.get("LastModified")),
            headers=headers_from(response),
            version_id=response.get("VersionId"),
        )

    def _empty(self, bucket: str, key: str, start: int, if_match: str | None) -> GetResult:
        info = self.head(bucket, key)
        self._checkunquote(info, if_match)
        offset = min(start, info.size)
        return GetResult(info=info, body=BytesBody(b""), start=offset, end=offset)

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> GetResult:
        """Open the object's bytes ``[start, end)`` (GetObject with a Range)."""
        start = max(start, 0)
        if end is not None and end <= start:
            return self._empty(bucket, key, start, if_match)
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if start or end is not None:
            params["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        if if_match is not None:
            params["IfMatch"] = quote(if_match)
        try:
            response = self._client.get_object(**params)
        except bce.ClientError as exc:
            if error_code(exc) == "InvalidRange" or status_code(exc) == 416:  # noqa: PLR2004
                return self._empty(bucket, key, start, if_match)  # start is past the end
            raise translate(exc, op="get", bucket=bucket, key=key, where=self._where) from exc
        except bce.BotoCoreError as exc:
            raise translate(exc, op="get", bucket=bucket, key=key, where=self._where) from exc
        match = CONTENT_RANGE.fullmatch(response.get("ContentRange") or "")
        length = response.get("ContentLength")
        if length is None:  # a chunked answer: its size comes from the range, or a HEAD
            length = (
                int(match[2]) + 1 - int(match[1]) if match else self._size_of(response, bucket, key)
            )
        if match:
            lo, hi = int(match[1]), int(match[2]) + 1
            total = int(match[3]) if match[3] != "*" else hi
        else:  # the whole object (also when a server ignores the Range)
            lo, hi, total = 0, length, length
        first = max(start, lo)
        stop = min(hi, total if end is None else min(end, total))
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=total,
            etag=unquote(response.get("ETag")),
            last_modified=utc(response.get("LastModified")),
            headers=headers_from(response),
            version_id=response.get("VersionId"),
        )
        body = StreamBody(
            response["Body"],
            length=max(stop - first, 0),
            skip=first - lo,
            bucket=bucket,
            key=key,
            where=self._where,
        )
        return GetResult(info=info, body=body, start=first, end=max(stop, first))

    def _size_of(self, response: Any, bucket: str, key: str) -> int:  # noqa: ANN401
        """The size of the object a GET answered without Content-Length, by a HEAD.

        The HEAD must describe the same version (ETag), or the body could not be checked
        for length; a mismatch is transient, so the GET is made again.
        """
        info = self.head(bucket, key)
        if info.etag != unquote(response.get("ETag")):
            response["Body"].close()
            raise s3po.TransientError(
                f"get s3://{bucket}/{key}: the object changed between the GET (no "
                "Content-Length) and the HEAD that sized it",
                bucket=bucket,
                key=key,
                backend=self.name,
            )
        return info.size

    def put(
        self,
        bucket: str,
        key: str,
        body: UploadBody,
        *,
        headers: Headers,
        size: int | None = None,  # noqa: ARG002 - the body is read whole
    ) -> ObjectInfo:
        """Store the object in one PutObject; a stream is read whole first, a file window not."""
        params = header_params(headers, bucket, key)
        data: Any = body if isinstance(body, FileWindow) else as_bytes(body)
        if isinstance(data, FileWindow):
            data.seek(0)
        with _window_changes(data):
            response = self._call(
                "put",
                bucket,
                key,
                self._client.put_object,
                Bucket=bucket,
                Key=key,
                Body=data,
                ContentLength=len(data),
                **self._body_check(data),
                **params,
            )
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(data),
            etag=unquote(response.get("ETag")),
            headers=headers,
            version_id=response.get("VersionId"),
        )

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object (DeleteObject); a missing key is not an error."""
        self._call("delete", bucket, key, self._client.delete_object, Bucket=bucket, Key=key)

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
        pages = iter(self._client.get_paginator("list_objects_v2").paginate(**params))
        while True:
            page = self._call("list", bucket, prefix or None, lambda: next(pages, None))
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
        try:
            self._client.create_bucket(**params)
        except bce.ClientError as exc:
            code = error_code(exc)
            if code == "BucketAlreadyOwnedByYou":
                return
            if code == "BucketAlreadyExists":
                try:
                    self._client.head_bucket(Bucket=bucket)
                except (bce.ClientError, bce.BotoCoreError):
                    raise s3po.AccessDenied(
                        f"bucket {bucket!r} belongs to another account at {self._where}; "
                        "bucket names are global, choose another",
                        bucket=bucket,
                        backend=self.name,
                    ) from exc
                return
            raise translate(exc, op="create_bucket", bucket=bucket, where=self._where) from exc
        except bce.BotoCoreError as exc:
            raise translate(exc, op="create_bucket", bucket=bucket, where=self._where) from exc

    # -- bucket administration and presigned URLs (s3po.backend.admin) ---------------------

    def list_buckets(self) -> Iterator[BucketInfo]:
        """Yield the buckets these credentials can see (ListBuckets), by name."""
        response = self._call("list_buckets", "", None, self._client.list_buckets)
        for item in sorted(response.get("Buckets", ()), key=lambda b: b.get("Name", "")):
            yield BucketInfo(item.get("Name", ""), utc(item.get("CreationDate")))

    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket (DeleteBucket)."""
        self._call("delete_bucket", bucket, None, self._client.delete_bucket, Bucket=bucket)

    def presign(self, method: str, bucket: str, key: str, *, expires_in: int) -> str:
        """A SigV4 URL for ``GET`` or ``PUT`` of ``s3://bucket/key``, valid ``expires_in`` s."""
        if method not in PRESIGN_METHODS:
            raise s3po.InvalidRequest(f"presign takes {PRESIGN_METHODS}, not {method!r}")
        operation = "get_object" if method == "GET" else "put_object"
        return self._call(
            "presign",
            bucket,
            key,
            self._client.generate_presigned_url,
            ClientMethod=operation,
            Params={"Bucket": bucket, "Key": key},
            ExpiresIn=expires_in,
        )

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        headers: Headers | None = None,
    ) -> ObjectInfo:
        """Copy inside the store (CopyObject, pinned to the source's ETag).

        ``headers=None`` keeps the source's headers and metadata; given headers replace
        them (``MetadataDirective=REPLACE``). Sources larger than one CopyObject allows
        (5 GiB) are copied in parts.
        """
        source = self.head(src_bucket, src_key)
        if source.size > self.capabilities.max_part_size:
            return self._copy_in_parts(source, bucket, key, headers)
        params: dict[str, Any] = {}
        if headers is not None:
            params = {"MetadataDirective": "REPLACE", **header_params(headers, bucket, key)}
        response = self._call(
            "copy",
            bucket,
            key,
            self._client.copy_object,
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": src_bucket, "Key": src_key},
            CopySourceIfMatch=quote(source.etag),
            **params,
        )
        result = response.get("CopyObjectResult", {})
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=source.size,
            etag=unquote(result.get("ETag")),
            last_modified=utc(result.get("LastModified")),
            headers=headers or source.headers,
            version_id=response.get("VersionId"),
        )

    def _copy_in_parts(
        self, source: ObjectInfo, bucket: str, key: str, headers: Headers | None
    ) -> ObjectInfo:
        caps = self.capabilities
        part = min(caps.max_part_size, max(math.ceil(source.size / caps.max_parts), _COPY_PART))
        # Copied parts carry no checksums of ours, so the upload must not ask for them.
        upload_id = self._start(bucket, key, headers or source.headers, checksums=False)
        try:
            parts = []
            for number, lo in enumerate(range(0, source.size, part), start=1):
                hi = min(lo + part, source.size)
                response = self._call(
                    "copy part",
                    bucket,
                    key,
                    self._client.upload_part_copy,
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": source.bucket, "Key": source.key},
                    CopySourceIfMatch=quote(source.etag),
                    CopySourceRange=f"bytes={lo}-{hi - 1}",
                )
                parts.append(
                    PartInfo(number, unquote(response["CopyPartResult"].get("ETag")), hi - lo)
                )
            return self.complete_multipart(bucket, key, upload_id, parts)
        except BaseException:
            with contextlib.suppress(s3po.S3poError):
                self.abort_multipart(bucket, key, upload_id)
            raise

    # -- multipart ------------------------------------------------------------------------

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        """Begin a multipart upload (CreateMultipartUpload), its parts checked by CRC32."""
        return self._start(bucket, key, headers, checksums=self.checksum != "md5")

    def _start(self, bucket: str, key: str, headers: Headers, *, checksums: bool) -> str:
        params = header_params(headers, bucket, key)
        if checksums:
            params["ChecksumAlgorithm"] = "CRC32"
        response = self._call(
            "start_multipart",
            bucket,
            key,
            self._client.create_multipart_upload,
            Bucket=bucket,
            Key=key,
            **params,
        )
        upload_id = response["UploadId"]
        self._uploads[upload_id] = headers
        return upload_id

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: PartBody
    ) -> PartInfo:
        """Upload one part (UploadPart), verified by CRC32 or Content-MD5.

        A :class:`~s3po.FileWindow` is streamed from the file (hashed first by reading it),
        so parts of a file upload are never held in memory whole.
        """
        body: Any = data if isinstance(data, FileWindow) else as_bytes(data)
        if isinstance(body, FileWindow):
            body.seek(0)
        check = self._body_check(body)
        op = f"put_part {part_number}"
        with _window_changes(body):
            try:
                response = self._client.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=part_number,
                    Body=body,
                    ContentLength=len(body),
                    **check,
                )
            except bce.ClientError as exc:
                if status_code(exc) >= 500 and error_code(exc) == str(status_code(exc)):  # noqa: PLR2004
                    self._raise_if_upload_gone(bucket, key, upload_id, op, exc)
                raise translate(exc, op=op, bucket=bucket, key=key, where=self._where) from exc
            except bce.BotoCoreError as exc:
                raise translate(exc, op=op, bucket=bucket, key=key, where=self._where) from exc
        crc = response.get("ChecksumCRC32") or check.get("ChecksumCRC32")
        return PartInfo(part_number, unquote(response.get("ETag")), len(body), crc)

    def _raise_if_upload_gone(
        self, bucket: str, key: str, upload_id: str, op: str, exc: bce.ClientError
    ) -> None:
        """After a bare 5xx on a part, raise NoSuchUpload if ListParts says the upload is gone.

        Some S3 emulators (moto) crash with an empty 500 on a part for an unknown upload id
        instead of answering NoSuchUpload; that must not be retried as if transient.
        """
        try:
            self._client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=1)
        except bce.ClientError as probe:
            if error_code(probe) == "NoSuchUpload":
                raise translate(probe, op=op, bucket=bucket, key=key, where=self._where) from exc
        except bce.BotoCoreError:
            pass

    def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[PartInfo]
    ) -> ObjectInfo:
        """Assemble the parts (CompleteMultipartUpload).

        A 200 response carrying an ``<Error>`` is an error like any other (transient for
        InternalError and SlowDown). If a retry finds the upload gone because the first
        attempt did complete, the stored object's ETag is checked and accepted.
        """
        listed: list[CompletedPartTypeDef] = []
        for part in parts:
            entry: CompletedPartTypeDef = {
                "PartNumber": part.part_number,
                "ETag": quote(part.etag),
            }
            if part.checksum:
                entry["ChecksumCRC32"] = part.checksum
            listed.append(entry)
        try:
            response = self._client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}
            )
        except bce.ClientError as exc:
            if error_code(exc) == "NoSuchUpload":
                done = self._completed_already(bucket, key, parts)
                if done is not None:
                    self._uploads.pop(upload_id, None)
                    return done
            raise translate(
                exc, op="complete_multipart", bucket=bucket, key=key, where=self._where
            ) from exc
        except bce.BotoCoreError as exc:
            raise translate(
                exc, op="complete_multipart", bucket=bucket, key=key, where=self._where
            ) from exc
        known = bool(parts) and all(p.size > 0 for p in parts)
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=sum(p.size for p in parts) if known else -1,
            etag=unquote(response.get("ETag")),
            headers=self._uploads.pop(upload_id, Headers()),
            version_id=response.get("VersionId"),
        )

    def _completed_already(
        self, bucket: str, key: str, parts: Sequence[PartInfo]
    ) -> ObjectInfo | None:
        expected = multipart_etag(parts)
        if expected is None:
            return None
        try:
            info = self.head(bucket, key)
        except s3po.TransientError:
            raise  # retried by the layer above; never mistaken for "not completed"
        except s3po.S3poError:
            return None
        return info if info.etag == expected else None

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard the upload and its parts (AbortMultipartUpload)."""
        self._uploads.pop(upload_id, None)
        self._call(
            "abort_multipart",
            bucket,
            key,
            self._client.abort_multipart_upload,
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
        )

    def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """Yield incomplete uploads under ``prefix`` (ListMultipartUploads)."""
        paginator = self._client.get_paginator("list_multipart_uploads")
        pages = iter(paginator.paginate(Bucket=bucket, Prefix=prefix))
        while True:
            page = self._call("list_multipart", bucket, prefix or None, lambda: next(pages, None))
            if page is None:
                return
            for upload in page.get("Uploads", ()):
                yield MultipartUpload(
                    bucket, upload["Key"], upload["UploadId"], utc(upload.get("Initiated"))
                )

    def close(self) -> None:
        """Close the client's connections (a client passed in is left open)."""
        if self._owns_client and self._made is not None:
            self._made.close()
