"""The S3 backend's session: its options, its shared boto3 client, and the helpers every call uses.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import botocore.exceptions as bce

import s3po
from s3po.backend import (
    ALL_CONDITIONS,
    WIRE_CHECKSUMS,
    Capabilities,
    FileWindow,
    Headers,
    ObjectInfo,
    WriteCondition,
    emulation,
)
from s3po_s3._client import ClientOptions, resolve_client
from s3po_s3._convert import content_md5
from s3po_s3._errors import s3_errors, status_code

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_s3 import S3Client

    from s3po.backend.checksums import ChecksumPolicy

__all__ = ["S3Session"]


@contextlib.contextmanager
def refused_write(
    condition: WriteCondition | None, bucket: str, key: str, backend: str
) -> Iterator[None]:
    """A conditional write's 412 (or the 404 to If-Match on a missing key) says so plainly."""
    try:
        yield
    except (s3po.PreconditionFailed, s3po.NoSuchKey) as exc:
        if condition is None:
            raise
        refused = emulation.write_refused(
            condition, None, bucket, key, backend, known=condition.if_none_match
        )
        raise refused from exc


class S3Session:
    """The options and the shared client of :class:`~s3po_s3.backend.S3Backend`.

    The backend's operations live in the mixins built on this class (objects, multipart,
    listing); this part knows no S3 operation, only how to make the client and call it.
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
        conditions: Iterable[str] | None = None,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
    ) -> None:
        """Resolve the options; the client is made on the first call that needs it."""
        # Capabilities refuses unknown condition names: before any client is resolved.
        declared = ALL_CONDITIONS if conditions is None else frozenset(conditions)
        self.capabilities = Capabilities(
            max_connections=max_pool_connections,
            conditions=declared,
            checksum_algorithms=WIRE_CHECKSUMS,
        )
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
                checksum_algorithm=checksum_algorithm,
                checksum_type=checksum_type,
                max_pool_connections=max_pool_connections,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
            )
        )
        self._recipe = recipe
        self._made: S3Client | None = None
        self._making = threading.Lock()
        self.checksum, self._owns_client = recipe.checksum, recipe.owns_client
        #: The checksum policy: ``checksum`` with its multipart checksum type.
        self.checksum_policy = recipe.policy
        self.endpoint_url, self.addressing_style = recipe.endpoint_url, recipe.addressing_style
        #: Uploads started here: their headers, and the policy their parts are sent under.
        self._uploads: dict[str, tuple[Headers, ChecksumPolicy | None]] = {}
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

    def _errors(
        self, op: str, bucket: str, key: str | None = None, *, body: object = None
    ) -> contextlib.AbstractContextManager[None]:
        """The backend's error edge for one request (:func:`~s3po_s3._errors.s3_errors`)."""
        return s3_errors(op, bucket, key, where=self._where, body=body)

    def _body_check(
        self, data: bytes | FileWindow, policy: ChecksumPolicy | None = None
    ) -> dict[str, Any]:
        """The request fields that let the server verify ``data`` under the checksum policy."""
        policy = policy or self.checksum_policy
        algo = policy.crc
        if algo is not None:
            return {algo.field: algo.encode(algo.of(data))}
        if policy.name == "md5":
            return {"ContentMD5": content_md5(data)}
        return {"ChecksumAlgorithm": "CRC32"}

    def _algorithm_named(self) -> dict[str, Any]:
        """PutObject's ``ChecksumAlgorithm`` for CRC32C and CRC64NVME (the SDKs send it too).

        Some stores (moto) keep a PUT's checksum only when the algorithm is named. CRC32,
        the default, is sent as before: the checksum header alone.
        """
        algo = self.checksum_policy.crc
        if algo is None or algo.name == "crc32":
            return {}
        return {"ChecksumAlgorithm": algo.wire_name}

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

    def close(self) -> None:
        """Close the client's connections (a client passed in is left open)."""
        if self._owns_client and self._made is not None:
            self._made.close()
