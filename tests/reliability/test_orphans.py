"""Lost CreateMultipartUpload replies: the uploads they created are aborted when the upload ends.

The proxy forwards CreateMultipartUpload to the server and then resets the connection
(``reset_after``) or cuts the reply (``truncate``): the server made an upload whose id the
client never learns. Once the start is over (it succeeded on a later attempt, or ran out of
retries), the multipart layer lists the uploads of that very key and aborts the ones its
failed attempts made; an upload of another key, even one
the key is a prefix of, is left alone.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from s3po_reliability import (  # type: ignore[import-not-found]
    MIB,
    PARTS,
    connect,
    data,
    open_uploads,
)
from s3po_s3.backend import S3Backend

import s3po
from s3po.backend import Headers
from s3po.middleware import Chunking, Retry

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", ["reset_after", "truncate"])
def test_a_lost_reply_leaves_no_upload(
    s3_server: Any, bucket: str, proxy: Any, tmp_path: Path, kind: str
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(data(11 * MIB, 1))
    other = s3_server.admin.create_multipart_upload(Bucket=bucket, Key="big.bin.other")
    proxy.inject(kind, operation="CreateMultipartUpload")
    with connect(s3_server, proxy, retries=2) as conn:
        result = conn.upload_file(bucket, "big.bin", source)
        assert result.multipart
        assert conn.download_bytes(bucket, "big.bin") == data(11 * MIB, 1)
    starts = proxy.requests("CreateMultipartUpload")
    assert [r.fault for r in starts] == [kind, None]
    assert starts[0].status == 200  # the server did create the first upload
    left = [(u["Key"], u["UploadId"]) for u in open_uploads(s3_server, bucket)]
    assert left == [("big.bin.other", other["UploadId"])]


def test_lost_replies_until_retries_run_out_leave_no_upload(
    s3_server: Any, bucket: str, proxy: Any, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(data(11 * MIB, 2))
    proxy.inject("reset_after", operation="CreateMultipartUpload", times=2)
    with connect(s3_server, proxy, retries=1) as conn, pytest.raises(s3po.RetriesExhausted):
        conn.upload_file(bucket, "big.bin", source, delete=True)
    assert source.read_bytes() == data(11 * MIB, 2)
    assert len(proxy.requests("CreateMultipartUpload")) == 2
    assert open_uploads(s3_server, bucket) == []


def test_no_listing_when_every_start_succeeded(
    s3_server: Any, bucket: str, proxy: Any, tmp_path: Path
) -> None:
    """The common path costs nothing: no ListMultipartUploads, no abort."""
    source = tmp_path / "big.bin"
    source.write_bytes(data(11 * MIB, 3))
    with connect(s3_server, proxy) as conn:
        conn.upload_file(bucket, "big.bin", source)
    assert proxy.requests("ListMultipartUploads") == []
    assert proxy.requests("AbortMultipartUpload") == []


def test_the_multipart_layer_alone_aborts_what_a_lost_reply_made(
    moto_server: Any, moto_proxy: Any
) -> None:
    """Chunking over Retry over the s3 backend, no Transfer: the layer cleans up by itself."""
    bucket = f"s3po-lost-{uuid.uuid4().hex[:12]}"
    moto_server.admin.create_bucket(Bucket=bucket)
    backend = S3Backend(**{**moto_server.options(), "endpoint_url": moto_proxy.url})
    retry = Retry(backend, s3po.RetryConfig(retries=3, base=0.01), sleep=lambda _s: None)
    layer = Chunking(retry, PARTS)
    moto_proxy.inject("reset_after", operation="CreateMultipartUpload")
    try:
        content = data(10 * MIB, 4)
        layer.put(bucket, "big.bin", content, headers=Headers(), size=len(content))
    finally:
        backend.close()
    starts = moto_proxy.requests("CreateMultipartUpload")
    assert [(r.fault, r.status) for r in starts] == [("reset_after", 200), (None, 200)]
    assert len(moto_proxy.requests("ListMultipartUploads")) == 1
    assert open_uploads(moto_server, bucket) == []
    stored = moto_server.admin.get_object(Bucket=bucket, Key="big.bin")["Body"].read()
    assert stored == content
