"""Objects other tools wrote or rewrote: transfer tokens, dropped headers, text that is not text."""

from __future__ import annotations

import gzip
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest

import s3po
from s3po import Headers

CONTENT = b"alpha,beta\n" * 500


def _rewrite_without_encoding(conn: s3po.Connection, bucket: str, key: str) -> bytes:
    """Store the object again as a tool that drops Content-Encoding but keeps metadata does."""
    info = conn.head(bucket, key)
    stored = conn.download_bytes(bucket, key, decompress=False)
    kept = Headers(content_type=info.headers.content_type, metadata=dict(info.headers.metadata))
    conn.backend.put(bucket, key, stored, headers=kept)
    return stored


# -- aws-chunked is a transfer token, not a content coding --------------------------------


@pytest.mark.parametrize(
    ("encoding", "stored"),
    [
        ("aws-chunked", CONTENT),
        ("aws-chunked, gzip", gzip.compress(CONTENT)),
        ("gzip, aws-chunked", gzip.compress(CONTENT)),
    ],
    ids=["alone", "before-gzip", "after-gzip"],
)
def test_aws_chunked_is_not_a_codec(conn: s3po.Connection, encoding: str, stored: bytes) -> None:
    conn.backend.put("bucket", "k", stored, headers=Headers(content_encoding=encoding))
    assert conn.download_bytes("bucket", "k") == CONTENT
    assert conn.download_bytes("bucket", "k", decompress=False) == stored


@pytest.mark.integration
def test_aws_chunked_as_seaweedfs_stores_it(seaweedfs_server: Any) -> None:
    """boto3 writes the token; SeaweedFS keeps it in the object's Content-Encoding."""
    seaweedfs_server.reset()
    bucket = s3po_bucket(seaweedfs_server)
    admin = seaweedfs_server.admin
    packed = gzip.compress(CONTENT)
    admin.put_object(Bucket=bucket, Key="gz", Body=packed, ContentEncoding="aws-chunked, gzip")
    admin.put_object(Bucket=bucket, Key="plain", Body=CONTENT, ContentEncoding="aws-chunked")
    assert admin.head_object(Bucket=bucket, Key="gz")["ContentEncoding"] == "aws-chunked, gzip"
    with s3po.Connection("s3", **seaweedfs_server.options()) as conn:
        assert conn.download_bytes(bucket, "gz") == CONTENT
        assert conn.download_bytes(bucket, "plain") == CONTENT
        assert conn.download_bytes(bucket, "gz", decompress=False) == packed


def s3po_bucket(server: Any) -> str:
    bucket = f"s3po-chunked-{uuid.uuid4().hex[:12]}"
    server.admin.create_bucket(Bucket=bucket)
    return bucket


# -- Content-Encoding dropped, s3po's metadata kept ---------------------------------------


def test_dropped_encoding_no_decompress_returns_the_stored_bytes(conn: s3po.Connection) -> None:
    conn.upload_string("bucket", "k", CONTENT, compress="gzip")
    stored = _rewrite_without_encoding(conn, "bucket", "k")
    assert conn.download_bytes("bucket", "k", decompress=False) == stored


def test_dropped_encoding_is_decoded_by_s3pos_record(
    conn: s3po.Connection, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    conn.upload_string("bucket", "k", CONTENT, compress="gzip")
    _rewrite_without_encoding(conn, "bucket", "k")
    with caplog.at_level(logging.INFO, logger="s3po"):
        assert conn.download_bytes("bucket", "k") == CONTENT
    assert any(
        r.levelno >= logging.WARNING and "s3po-codec" in r.getMessage() for r in caplog.records
    )
    conn.download_file("bucket", "k", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == CONTENT


def test_dropped_encoding_with_checksum_off(tmp_path: Path) -> None:
    off = s3po.TransferConfig(checksum=False)
    with s3po.Connection(backend="local", root=tmp_path / "store") as conn:
        conn.upload_string("bucket", "k", CONTENT, compress="gzip")
        stored = _rewrite_without_encoding(conn, "bucket", "k")
    with s3po.Connection(backend="local", root=tmp_path / "store", config=off) as conn:
        assert conn.download_bytes("bucket", "k") == CONTENT
        assert conn.download_bytes("bucket", "k", decompress=False) == stored


def test_decoded_by_another_tool_explains_the_mismatch(conn: s3po.Connection) -> None:
    """The bytes were decompressed and the header dropped, the metadata kept: say so."""
    conn.upload_string("bucket", "k", CONTENT, compress="gzip")
    info = conn.head("bucket", "k")
    conn.backend.put("bucket", "k", CONTENT, headers=Headers(metadata=info.headers.metadata))
    with pytest.raises(s3po.CorruptData) as caught:
        conn.download_bytes("bucket", "k")
    message = str(caught.value)
    assert "s3po-codec" in message
    assert "Content-Encoding" in message
    assert "damaged" not in message
    assert conn.download_bytes("bucket", "k", decompress=False) == CONTENT


@pytest.mark.integration
def test_dropped_encoding_by_a_copy_on_real_servers(s3_server: Any, s3_bucket: str) -> None:
    """A server-side copy that replaces the headers but keeps the metadata."""
    with s3po.Connection("s3", **s3_server.options()) as conn:
        conn.upload_string(s3_bucket, "k", CONTENT, compress="gzip")
        stored = conn.download_bytes(s3_bucket, "k", decompress=False)
        head = s3_server.admin.head_object(Bucket=s3_bucket, Key="k")
        s3_server.admin.copy_object(
            Bucket=s3_bucket,
            Key="copy",
            CopySource={"Bucket": s3_bucket, "Key": "k"},
            MetadataDirective="REPLACE",
            Metadata=head["Metadata"],
        )
        assert not conn.head(s3_bucket, "copy").headers.content_encoding
        assert conn.download_bytes(s3_bucket, "copy", decompress=False) == stored
        assert conn.download_bytes(s3_bucket, "copy") == CONTENT


# -- text that is not text --------------------------------------------------------------


def test_latin1_without_a_charset(conn: s3po.Connection) -> None:
    conn.upload_string("bucket", "k", "café".encode("latin-1"))
    with pytest.raises(s3po.UndecodableText) as caught:
        conn.download_string("bucket", "k")
    assert isinstance(caught.value, s3po.CorruptData | ValueError)
    assert caught.value.bucket == "bucket"
    assert caught.value.key == "k"
    assert "s3://bucket/k" in str(caught.value)
    assert "download_bytes" in str(caught.value)
    assert conn.download_string("bucket", "k", encoding="latin-1") == "café"


def test_unknown_charset_in_the_content_type(conn: s3po.Connection) -> None:
    klingon = {"Content-Type": "text/plain; charset=klingon"}
    conn.upload_string("bucket", "k", b"hi", headers=klingon)
    with pytest.raises(s3po.UndecodableText, match="klingon") as caught:
        conn.download_string("bucket", "k")
    assert "download_bytes" in str(caught.value)


def test_unknown_encoding_is_refused_before_any_transfer(conn: s3po.Connection) -> None:
    """No request is made: the object does not even exist."""
    with pytest.raises(s3po.UnknownCharset, match="klingon") as caught:
        conn.download_string("bucket", "missing", encoding="klingon")
    assert isinstance(caught.value, s3po.InvalidRequest | LookupError)
    assert "download_bytes" in str(caught.value)
