"""The S3 backend: Amazon S3 and S3-compatible stores through one shared boto3 client.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from s3po_s3._client import (
    ADDRESSING_STYLE_ENV,
    CHECKSUM_ENV,
    ENDPOINT_URL_ENV,
    PROFILE_ENV,
    REGION_ENV,
)
from s3po_s3._listing import S3Listing
from s3po_s3._multipart import S3Multipart

__all__ = [
    "ADDRESSING_STYLE_ENV",
    "CHECKSUM_ENV",
    "ENDPOINT_URL_ENV",
    "PROFILE_ENV",
    "REGION_ENV",
    "S3Backend",
]


class S3Backend(S3Multipart, S3Listing):
    """Objects on Amazon S3 or an S3-compatible store (MinIO, SeaweedFS, Ceph, R2, ...).

    One boto3 client is made in the constructor and shared by every thread (clients are
    thread-safe; sessions are not). botocore's own retries are off
    (``total_max_attempts=1``) so that s3po's retry layer is the only one, and its pool
    holds ``max_pool_connections`` connections so batches never see "Connection pool is
    full". Every option but the credentials and ready-made objects may also come from the
    environment; credentials follow boto3's usual chain (``AWS_ACCESS_KEY_ID``, profiles,
    instance roles).

    Checksums: every PUT and part carries a checksum the server verifies, so a body
    damaged on the way is refused and sent again. By default
    (``checksum_algorithm="crc32"``) s3po computes the CRC32 itself and sends it as the
    ``x-amz-checksum-crc32`` header (multipart uploads are created with
    ``ChecksumAlgorithm=CRC32`` and completed with each part's CRC32); botocore's own
    checksum calculation stays off, so no request is ever sent with aws-chunked trailers,
    which several S3-compatible stores refuse. ``"crc32c"`` and ``"crc64nvme"`` send those
    instead (computed by awscrt: ``pip install 's3po[crc]'``). A multipart upload's checksum
    is ``checksum_type="composite"`` (the checksum of the part checksums; the default for
    CRC32 and CRC32C) or ``"full_object"`` (of the whole object, combined from the parts'
    and sent with CompleteMultipartUpload for the store to check; CRC64NVME is always so).
    ``"md5"`` sends ``Content-MD5`` instead, for stores that know nothing newer (MD5 costs
    about five times the CPU of CRC32). ``"when_supported"`` hands checksums to botocore
    (boto3's own default: trailers over HTTPS, and validation of whole-object downloads).
    The store pages of docs/s3-compatible.md say which work where.

    Downloads: a whole-object GET asks for the stored checksum, and a full-object CRC32,
    CRC32C or CRC64NVME is checked as the body is read (:class:`~s3po.CorruptData` if it
    differs). Composite checksums (``...-N``) and ranged GETs cannot be checked that way;
    under ``"md5"`` nothing is asked. ``head`` reports the stored checksum in
    :attr:`ObjectInfo.checksum <s3po.ObjectInfo.checksum>`.

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
        checksum: The older name of ``checksum_algorithm`` (either may be given).
        max_pool_connections: Connections kept open at once (default 64).
        connect_timeout: Seconds to wait for a connection (default 10).
        read_timeout: Seconds to wait for data on a connection (default 20): a server that
            accepts and never answers fails each attempt after this long, so with the
            default 4 attempts a call gives up in about 80 s. A body that trickles in is
            caught by :class:`~s3po.RetryConfig`'s low-speed limit instead.
        conditions: The conditional writes the store honours (default: all of
            :data:`~s3po.backend.ALL_CONDITIONS`: If-None-Match and If-Match on PutObject
            and CompleteMultipartUpload); leave out what it ignores, so s3po refuses it
            rather than writing unconditionally (docs/s3-compatible.md).
        checksum_algorithm: ``"crc32"`` (default), ``"crc32c"``, ``"crc64nvme"``, ``"md5"``
            or ``"when_supported"``, any case (``$S3PO_CHECKSUM``).
        checksum_type: A multipart upload's checksum: ``"composite"`` (default for CRC32
            and CRC32C) or ``"full_object"`` (CRC64NVME's only type).

    Raises:
        ConfigError: An option has a bad value, or options conflict.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.4.0
       ``conditions``; ``put`` and ``complete_multipart`` take a ``condition``;
       ``checksum_algorithm`` (CRC32C, CRC64NVME) and ``checksum_type``; whole-object
       downloads are verified against the stored checksum.
    """
