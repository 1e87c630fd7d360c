"""Object data covered by a checksum header goes out as UNSIGNED-PAYLOAD, on plain HTTP too.

botocore signs the SHA-256 of every body on an ``http://`` endpoint, a second pass over
each part beside the CRC32 (or MD5) s3po sends and the store verifies. The S3 backend's
client signs PutObject and UploadPart bodies that carry such a header as
``UNSIGNED-PAYLOAD``; requests without one are signed as before, and the store still
refuses a body that does not match its checksum.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import botocore.exceptions as bce
import pytest
from s3po_s3.backend import S3Backend

import s3po

_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
def backend(s3_server: Any) -> Iterator[S3Backend]:
    backend = S3Backend(**s3_server.options())
    yield backend
    backend.close()


def _capture(backend: S3Backend) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}

    def before_send(request: Any, event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        body_hash = request.headers.get("X-Amz-Content-SHA256", b"")
        value = body_hash.decode() if isinstance(body_hash, bytes) else body_hash
        seen.setdefault(operation, []).append(value)

    backend.client.meta.events.register("before-send.s3", before_send)
    return seen


@pytest.mark.integration
@pytest.mark.parametrize("checksum", ["crc32", "md5"])
def test_verified_bodies_are_not_hashed_for_the_signature(
    s3_server: Any, s3_bucket: str, checksum: str
) -> None:
    backend = S3Backend(**s3_server.options(), checksum=checksum)
    seen = _capture(backend)
    part = b"p" * (5 * 1024 * 1024)
    upload_id = backend.start_multipart(s3_bucket, "big", headers=s3po.Headers())
    parts = [
        backend.put_part(s3_bucket, "big", upload_id, n, body)
        for n, body in ((1, part), (2, b"last"))
    ]
    backend.complete_multipart(s3_bucket, "big", upload_id, parts)
    backend.put(s3_bucket, "small", b"small", headers=s3po.Headers())
    with backend.get(s3_bucket, "big") as result:
        assert result.body.readall() == part + b"last"
    backend.client.put_object(Bucket=s3_bucket, Key="bare", Body=b"no checksum header")
    backend.close()
    assert seen["UploadPart"] == ["UNSIGNED-PAYLOAD"] * 2
    assert seen["PutObject"][0] == "UNSIGNED-PAYLOAD"
    # no checksum header: signed, as botocore always did on plain HTTP
    assert _HEX_SHA256.match(seen["PutObject"][1])
    assert _HEX_SHA256.match(seen["CompleteMultipartUpload"][0])


@pytest.mark.integration
def test_the_store_still_refuses_a_body_that_does_not_match(
    seaweedfs_server: Any,
) -> None:
    bucket = "s3po-unsigned-bad-digest"
    seaweedfs_server.admin.create_bucket(Bucket=bucket)
    backend = S3Backend(**seaweedfs_server.options())
    seen = _capture(backend)
    try:
        with pytest.raises(bce.ClientError) as caught:
            backend.client.put_object(
                Bucket=bucket, Key="k", Body=b"the body", ChecksumCRC32="AAAAAA=="
            )
        assert seen["PutObject"] == ["UNSIGNED-PAYLOAD"]
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        with pytest.raises(bce.ClientError):
            seaweedfs_server.admin.head_object(Bucket=bucket, Key="k")
    finally:
        backend.close()
        seaweedfs_server.admin.delete_bucket(Bucket=bucket)
