"""Connection.open: the decoded, verified stream the filesystem reads, and stored ranges."""

from __future__ import annotations

import gzip

import pytest

import s3po


def test_a_whole_open_is_decoded_and_a_range_is_stored_bytes(conn: s3po.Connection) -> None:
    conn.upload_string("bucket", "k", b"hello world" * 100, compress="gzip")
    with conn.open("bucket", "k") as got:
        assert got.body.readall() == b"hello world" * 100
    stored = conn.download_bytes("bucket", "k", decompress=False)
    with conn.open("bucket", "k", start=0, end=len(stored)) as got:
        data = got.body.readall()
    assert data == stored
    assert gzip.decompress(data) == b"hello world" * 100
    with conn.open("bucket", "k", start=3, end=9) as got:
        assert got.body.readall() == stored[3:9]
        assert got.info.size == len(stored)


def test_a_whole_open_verifies_the_checksum(conn: s3po.Connection) -> None:
    conn.upload_string("bucket", "k", b"content")
    meta = {**conn.head("bucket", "k").headers.metadata, "s3po-xxh128": "0" * 32}
    conn.copy("bucket", "k", "bucket", "k", metadata=meta)
    with pytest.raises(s3po.CorruptData), conn.open("bucket", "k") as got:
        got.body.readall()


def test_if_match_pins_the_read(conn: s3po.Connection) -> None:
    first = conn.upload_string("bucket", "k", b"one")
    conn.upload_string("bucket", "k", b"two")
    with pytest.raises(s3po.PreconditionFailed):
        conn.open("bucket", "k", start=0, end=2, if_match=first.etag)


def test_open_checks_its_arguments_before_any_io(conn: s3po.Connection) -> None:
    with pytest.raises(s3po.ConfigError):
        conn.open("bucket", "k", decompress="no")  # type: ignore[arg-type]
    with pytest.raises(s3po.InvalidBucketName):
        conn.open("b", "k", start=1)
