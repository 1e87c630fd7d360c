"""The S3 backend's single-object calls: HeadObject, GetObject, PutObject, DeleteObject.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import botocore.exceptions as bce

import s3po
from s3po.backend import BytesBody, FileWindow, GetResult, Headers, ObjectInfo, WriteCondition
from s3po.backend.checksums import CHECKSUM_ALGORITHMS as CRCS
from s3po.backend.checksums import VerifyingBody, computable
from s3po_s3._convert import (
    CONTENT_RANGE,
    as_bytes,
    condition_params,
    header_params,
    headers_from,
    quote,
    stored_checksum,
    unquote,
    utc,
)
from s3po_s3._errors import StreamBody, error_code, status_code
from s3po_s3._session import S3Session, refused_write

if TYPE_CHECKING:
    from s3po.backend import UploadBody

__all__ = ["S3Objects"]


class S3Objects(S3Session):
    """Single objects on an S3 store (the part of :class:`~s3po_s3.backend.S3Backend`)."""

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Return the object's information (HeadObject), with its stored checksum if any.

        The checksum is asked for (``ChecksumMode=ENABLED``) unless the policy is ``"md5"``.
        """
        ask: dict[str, Any] = {} if self.checksum == "md5" else {"ChecksumMode": "ENABLED"}
        with self._errors("head", bucket, key):
            try:
                response = self._client.head_object(Bucket=bucket, Key=key, **ask)
            except bce.ClientError as exc:
                if status_code(exc) == 404:  # noqa: PLR2004 - HTTP status
                    self._no_bucket(bucket, key, "head", exc)
                raise
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=response["ContentLength"],
            etag=unquote(response.get("ETag")),
            last_modified=utc(response.get("LastModified")),
            headers=headers_from(response),
            version_id=response.get("VersionId"),
            checksum=stored_checksum(response),
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
        """Open the object's bytes ``[start, end)`` (GetObject with a Range).

        A whole-object GET asks for the stored checksum; a full-object CRC32, CRC32C or
        CRC64NVME is checked as the body is read (:class:`~s3po.CorruptData` at its end if
        it differs). Composite checksums (``...-N``) and ranges cannot be checked so.
        """
        start = max(start, 0)
        if end is not None and end <= start:
            return self._empty(bucket, key, start, if_match)
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if start or end is not None:
            params["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        if if_match is not None:
            params["IfMatch"] = quote(if_match)
        with self._errors("get", bucket, key):
            try:
                response = self._client.get_object(**params)
            except bce.ClientError as exc:
                if error_code(exc) == "InvalidRange" or status_code(exc) == 416:  # noqa: PLR2004
                    return self._empty(bucket, key, start, if_match)  # start is past the end
                raise
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
        stored = stored_checksum(response)
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=total,
            etag=unquote(response.get("ETag")),
            last_modified=utc(response.get("LastModified")),
            headers=headers_from(response),
            version_id=response.get("VersionId"),
            checksum=stored,
        )
        body: Any = StreamBody(
            response["Body"],
            length=max(stop - first, 0),
            skip=first - lo,
            bucket=bucket,
            key=key,
            where=self._where,
        )
        whole = first == 0 and stop == total and self.checksum != "when_supported"
        if (
            whole
            and stored is not None
            and stored.full_object
            and stored.algorithm in CRCS
            and computable(stored.algorithm)
        ):
            body = VerifyingBody(
                body, stored, length=total, bucket=bucket, key=key, backend=self.name
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
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Store the object in one PutObject; a stream is read whole first, a file window not.

        ``condition`` is sent as ``If-None-Match: *`` or ``If-Match``; the server checks it
        as it commits (412: PreconditionFailed, and a 404 to If-Match on a missing key is
        one too).
        """
        params = header_params(headers, bucket, key)
        data: Any = body if isinstance(body, FileWindow) else as_bytes(body)
        if isinstance(data, FileWindow):
            data.seek(0)
        # refused_write outside the error edge: it reads the s3po error the edge raised
        with (
            refused_write(condition, bucket, key, self.name),
            self._errors("put", bucket, key, body=data),
        ):
            response = self._client.put_object(
                Bucket=bucket,
                Key=key,
                Body=data,
                ContentLength=len(data),
                **self._body_check(data),
                **self._algorithm_named(),
                **params,
                **condition_params(condition),  # type: ignore[arg-type]
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
        with self._errors("delete", bucket, key):
            self._client.delete_object(Bucket=bucket, Key=key)
