"""Bad input is refused before any I/O, with a message that says what to change."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import s3po


def test_part_size_below_the_backend_minimum_is_refused(tmp_path: Path) -> None:
    config = s3po.TransferConfig(chunk=s3po.ChunkConfig(part_size=1024))
    with pytest.raises(s3po.ConfigError, match="below the local backend's minimum"):
        s3po.Connection(backend="local", root=tmp_path / "store", config=config)
    assert not (tmp_path / "store" / "bucket").exists()


def test_negative_sizes_are_refused() -> None:
    with pytest.raises(s3po.ConfigError):
        s3po.ChunkConfig(part_size=-1)
    with pytest.raises(s3po.ConfigError):
        s3po.parse_size("-5MiB")


def test_text_streams_and_folders_are_refused(tmp_path: Path) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store")
    with pytest.raises(s3po.InvalidRequest, match="text mode"):
        conn.upload_fileobj("bucket", "k", io.StringIO("text"))  # type: ignore[arg-type]
    with pytest.raises(s3po.InvalidRequest, match="folder"):
        conn.upload_file("bucket", "k", tmp_path)
    with pytest.raises(s3po.InvalidRequest, match="does not exist"):
        conn.upload_file("bucket", "k", tmp_path / "missing.txt")
    with pytest.raises(s3po.InvalidBucketName):
        conn.upload_string("Bad_Bucket", "k", "v")
    with pytest.raises(s3po.InvalidKey):
        conn.upload_string("bucket", "x" * 1025, "v")
    with pytest.raises(s3po.UnknownCodec):
        conn.upload_string("bucket", "k", "v", compress="lzma-nope")
    with pytest.raises(s3po.InvalidRequest, match="header"):
        conn.upload_string("bucket", "k", "v", headers={"X-Weird": "1"})
    assert not (tmp_path / "store" / "bucket").exists()
