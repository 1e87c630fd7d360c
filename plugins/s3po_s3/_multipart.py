"""The S3 backend's multipart uploads, and copies (which go in parts past 5 GiB).

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import botocore.exceptions as bce

import s3po
from s3po.backend import (
    FileWindow,
    Headers,
    MultipartUpload,
    ObjectInfo,
    PartBody,
    PartInfo,
    WriteCondition,
    checksums,
)
from s3po_s3._convert import (
    as_bytes,
    condition_params,
    header_params,
    multipart_etag,
    quote,
    unquote,
    utc,
)
from s3po_s3._errors import error_code, status_code
from s3po_s3._objects import S3Objects
from s3po_s3._session import refused_write

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

    from s3po.backend.checksums import ChecksumPolicy

__all__ = ["S3Multipart"]

#: Part size preferred when copying objects too large for one CopyObject.
_COPY_PART = 1024 * 1024 * 1024


class S3Multipart(S3Objects):
    """Multipart uploads and copies (the part of :class:`~s3po_s3.backend.S3Backend`)."""

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
        with self._errors("copy", bucket, key):
            response = self._client.copy_object(
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
        upload_id = self._start(bucket, key, headers or source.headers, policy=None)
        try:
            parts = []
            for number, lo in enumerate(range(0, source.size, part), start=1):
                hi = min(lo + part, source.size)
                with self._errors("copy part", bucket, key):
                    response = self._client.upload_part_copy(
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
        """Begin a multipart upload (CreateMultipartUpload), its parts checked by the policy's CRC.

        The upload is created with ``ChecksumAlgorithm`` (and ``ChecksumType=FULL_OBJECT``
        under ``checksum_type="full_object"``); under ``"md5"`` with neither.
        """
        policy = self.checksum_policy
        return self._start(bucket, key, headers, policy=None if policy.name == "md5" else policy)

    def _start(
        self, bucket: str, key: str, headers: Headers, *, policy: ChecksumPolicy | None
    ) -> str:
        params = header_params(headers, bucket, key)
        if policy is not None:
            algo = policy.crc
            params["ChecksumAlgorithm"] = "CRC32" if algo is None else algo.wire_name
            if policy.full_object:
                params["ChecksumType"] = "FULL_OBJECT"
        with self._errors("start_multipart", bucket, key):
            response = self._client.create_multipart_upload(Bucket=bucket, Key=key, **params)
        upload_id = response["UploadId"]
        self._uploads[upload_id] = (headers, policy)
        return upload_id

    def _policy_of(self, upload_id: str) -> ChecksumPolicy | None:
        """The policy of an upload: its own if started here, else the backend's (a resume).

        None for an upload started without checksums (a copy in parts, or under ``"md5"``).
        """
        entry = self._uploads.get(upload_id)
        return entry[1] if entry is not None else self.checksum_policy

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: PartBody
    ) -> PartInfo:
        """Upload one part (UploadPart), verified by the policy's CRC or Content-MD5.

        A :class:`~s3po.FileWindow` is streamed from the file (hashed first by reading it),
        so parts of a file upload are never held in memory whole.
        """
        body: Any = data if isinstance(data, FileWindow) else as_bytes(data)
        if isinstance(body, FileWindow):
            body.seek(0)
        policy = self._policy_of(upload_id) or self.checksum_policy
        check = self._body_check(body, policy)
        op = f"put_part {part_number}"
        with self._errors(op, bucket, key, body=body):
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
                    self._raise_if_upload_gone(bucket, key, upload_id, exc)
                raise
        algo = policy.crc or (checksums.crc("crc32") if policy.name == "when_supported" else None)
        if algo is None:
            return PartInfo(part_number, unquote(response.get("ETag")), len(body))
        found: Any = response
        value = found.get(algo.field) or check.get(algo.field)
        return PartInfo(part_number, unquote(response.get("ETag")), len(body), value, algo.name)

    def _raise_if_upload_gone(
        self, bucket: str, key: str, upload_id: str, exc: bce.ClientError
    ) -> None:
        """After a bare 5xx on a part, raise NoSuchUpload if ListParts says the upload is gone.

        Some S3 emulators (moto) crash with an empty 500 on a part for an unknown upload id
        instead of answering NoSuchUpload; that must not be retried as if transient.
        """
        try:
            self._client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=1)
        except bce.ClientError as probe:
            if error_code(probe) == "NoSuchUpload":
                raise probe from exc  # the error edge makes it NoSuchUpload
        except bce.BotoCoreError:
            pass

    def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        *,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Assemble the parts (CompleteMultipartUpload).

        A 200 response carrying an ``<Error>`` is an error like any other (transient for
        InternalError and SlowDown). If a retry finds the upload gone because the first
        attempt did complete, the stored object's ETag is checked and accepted.
        ``condition`` is sent as ``If-None-Match: *`` or ``If-Match``; when it fails the
        upload stays, for the caller to abort. Under ``checksum_type="full_object"`` the
        request carries the whole object's checksum, combined from the parts' in part
        order, for the store to check against what it assembled.
        """
        policy = self._policy_of(upload_id)
        default = policy.crc.name if policy is not None and policy.crc is not None else "crc32"
        listed: list[CompletedPartTypeDef] = []
        for part in parts:
            entry: CompletedPartTypeDef = {
                "PartNumber": part.part_number,
                "ETag": quote(part.etag),
            }
            if part.checksum:
                name = part.checksum_algorithm or default
                entry["Checksum" + name.upper()] = part.checksum  # type: ignore[literal-required]
            listed.append(entry)
        whole = _full_object(policy, parts)
        # refused_write outside the error edge: it reads the s3po error the edge raised
        with (
            refused_write(condition, bucket, key, self.name),
            self._errors("complete_multipart", bucket, key),
        ):
            try:
                response = self._client.complete_multipart_upload(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": listed},
                    **whole,
                    **condition_params(condition),  # type: ignore[arg-type]
                )
            except bce.ClientError as exc:
                if error_code(exc) == "NoSuchUpload":
                    done = self._completed_already(bucket, key, parts)
                    if done is not None:
                        self._uploads.pop(upload_id, None)
                        return done
                raise
        known = bool(parts) and all(p.size > 0 for p in parts)
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=sum(p.size for p in parts) if known else -1,
            etag=unquote(response.get("ETag")),
            headers=self._uploads.pop(upload_id, (Headers(), None))[0],
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
        with self._errors("abort_multipart", bucket, key):
            self._client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)

    def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """Yield incomplete uploads under ``prefix`` (ListMultipartUploads)."""
        with self._errors("list_multipart", bucket, prefix or None):
            paginator = self._client.get_paginator("list_multipart_uploads")
            pages = iter(paginator.paginate(Bucket=bucket, Prefix=prefix))
        while True:
            with self._errors("list_multipart", bucket, prefix or None):
                page = next(pages, None)
            if page is None:
                return
            for upload in page.get("Uploads", ()):
                yield MultipartUpload(
                    bucket, upload["Key"], upload["UploadId"], utc(upload.get("Initiated"))
                )

    def list_parts(self, bucket: str, key: str, upload_id: str) -> Iterator[PartInfo]:
        """Yield the stored parts of an upload, by number (ListParts).

        .. versionadded:: 0.4.0
        """
        paginator = self._client.get_paginator("list_parts")
        pages = iter(paginator.paginate(Bucket=bucket, Key=key, UploadId=upload_id))
        while True:
            with self._errors("list_parts", bucket, key):
                page = next(pages, None)
            if page is None:
                return
            for part in page.get("Parts", ()):
                number, etag, size = part["PartNumber"], unquote(part["ETag"]), part["Size"]
                # CompleteMultipartUpload names each part's checksum if the upload has them.
                found: Any = part
                name = next(
                    (n for n in checksums.CHECKSUM_ALGORITHMS if found.get(f"Checksum{n.upper()}")),
                    None,
                )
                value = found.get(f"Checksum{name.upper()}") if name else None
                yield PartInfo(number, etag, size, value, name)


def _full_object(policy: ChecksumPolicy | None, parts: Sequence[PartInfo]) -> dict[str, Any]:
    """CompleteMultipartUpload's full-object checksum fields; none when it is not one.

    Every part must carry a checksum of the policy's algorithm and a known size, or the
    whole checksum cannot be combined (the store still computes its own).
    """
    algo = policy.crc if policy is not None else None
    if policy is None or algo is None or not policy.full_object or not parts:
        return {}
    if not all(p.checksum and p.size > 0 and p.checksum_algorithm in (None, algo.name)
               for p in parts):  # fmt: skip
        return {"ChecksumType": "FULL_OBJECT"}
    ordered = sorted(parts, key=lambda p: p.part_number)
    value = checksums.combine(algo.name, [(p.checksum or "", p.size) for p in ordered])
    return {"ChecksumType": "FULL_OBJECT", algo.field: value}
