"""End-to-end integrity: the logical checksum is stored, verified, and never fooled."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
import xxhash

import s3po
from s3po.integrity import Checksum


@pytest.fixture
def conn(tmp_path: Path) -> s3po.Connection:
    return s3po.Connection(backend="local", root=tmp_path / "store")


def _flip_a_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("codec", [None, "br"])
def test_a_byte_flipped_on_the_server_raises_corrupt_data(
    conn: s3po.Connection, tmp_path: Path, codec: str | None
) -> None:
    payload = os.urandom(50_000)
    conn.upload_string("bucket", "obj", payload, compress=codec)
    stored = tmp_path / "store" / "bucket" / "obj"
    # brotli of random bytes is stored nearly raw, so a flip decodes "successfully"
    _flip_a_byte(stored, len(stored.read_bytes()) // 2)
    with pytest.raises(s3po.CorruptData, match="checksum mismatch"):
        conn.download_bytes("bucket", "obj")
    target = tmp_path / "out.bin"
    with pytest.raises(s3po.CorruptData):
        conn.download_file("bucket", "obj", target)
    assert not target.exists()


def test_checksum_is_of_the_content_before_compression(conn: s3po.Connection) -> None:
    text = "abc" * 10_000
    result = conn.upload_string("bucket", "t", text, compress="gzip")
    expected = xxhash.xxh3_128_hexdigest(text.encode())
    assert result.checksum == Checksum("xxh128", expected)
    assert str(result.checksum) == f"xxh128:{expected}"
    assert conn.head("bucket", "t").headers.metadata["s3po-xxh128"] == expected


def test_unseekable_streams_go_up_without_a_checksum(conn: s3po.Connection) -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "wb") as w:
        w.write(b"piped bytes")
    with os.fdopen(read_end, "rb") as r:
        result = conn.upload_fileobj("bucket", "p", r)
    assert result.checksum is None
    assert conn.download_bytes("bucket", "p") == b"piped bytes"


def test_seekable_stream_is_hashed_from_its_position(conn: s3po.Connection) -> None:
    stream = io.BytesIO(b"skip-this|keep this")
    stream.seek(10)
    result = conn.upload_fileobj("bucket", "s", stream)
    assert result.checksum == Checksum("xxh128", xxhash.xxh3_128_hexdigest(b"keep this"))
    assert conn.download_bytes("bucket", "s") == b"keep this"


def test_delete_waits_for_a_matching_checksum(
    conn: s3po.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "src.txt"
    source.write_text("important")
    real_head = conn.transfer.head

    def tampered_head(bucket: str, key: str) -> s3po.ObjectInfo:
        return real_head(bucket, key)

    monkeypatch.setattr(conn.transfer, "head", tampered_head)
    original = conn.transfer.verify

    def verify_against_other_bytes(
        result: s3po.UploadResult, config: s3po.TransferConfig | None = None
    ) -> s3po.ObjectInfo:
        conn.backend.put("bucket", "k", b"other", headers=conn.backend.head("bucket", "k").headers)
        return original(result, config)

    monkeypatch.setattr(conn.transfer, "verify", verify_against_other_bytes)
    with pytest.raises(s3po.CorruptData):
        conn.upload_file("bucket", "k", source, delete=True)
    assert source.read_text() == "important"


def test_checksum_can_be_turned_off(tmp_path: Path) -> None:
    conn = s3po.Connection(
        backend="local", root=tmp_path / "s", config=s3po.TransferConfig(checksum=False)
    )
    result = conn.upload_string("bucket", "k", "v")
    assert result.checksum is None
    assert not any(k.startswith("s3po-") for k in conn.head("bucket", "k").headers.metadata)


def test_parallel_download_to_a_file_is_verified(tmp_path: Path) -> None:
    """Large objects stream ranges straight to file offsets; the checksum still guards them."""
    backend = s3po_local_backend(tmp_path)
    chunk = s3po.ChunkConfig(threshold=128 * 1024, part_size=64 * 1024, max_concurrency=4)
    conn = s3po.Connection(backend, config=s3po.TransferConfig(chunk=chunk))
    payload = os.urandom(1_000_000)
    conn.upload_string("bucket", "big", payload)
    moved: list[int] = []
    target = tmp_path / "out.bin"
    result = conn.download_file("bucket", "big", target, progress=moved.append)
    assert target.read_bytes() == payload
    assert sum(moved) == len(payload) == result.size
    _flip_a_byte(tmp_path / "store" / "bucket" / "big", 700_001)
    target.unlink()
    with pytest.raises(s3po.CorruptData, match="checksum mismatch"):
        conn.download_file("bucket", "big", target)
    assert not target.exists()
    assert list(target.parent.glob("*.s3po-part")) == []


def s3po_local_backend(tmp_path: Path) -> s3po.Backend:
    from s3po_local import LocalBackend  # noqa: PLC0415

    return LocalBackend(tmp_path / "store", min_part_size=64 * 1024)


def test_sha256_can_be_chosen_and_is_verified(tmp_path: Path) -> None:
    conn = s3po.Connection(
        backend="local", root=tmp_path / "store", config=s3po.TransferConfig(checksum="sha256")
    )
    payload = os.urandom(20_000)
    result = conn.upload_string("bucket", "k", payload)
    assert result.checksum == Checksum("sha256", hashlib.sha256(payload).hexdigest())
    metadata = conn.head("bucket", "k").headers.metadata
    assert metadata["s3po-sha256"] == result.checksum.hexdigest
    assert "s3po-xxh128" not in metadata
    assert conn.download_bytes("bucket", "k") == payload
    _flip_a_byte(tmp_path / "store" / "bucket" / "k", 123)
    with pytest.raises(s3po.CorruptData, match="stored SHA-256"):
        conn.download_bytes("bucket", "k")


@pytest.mark.parametrize("kind", ["s3po-xxh128", "s3po-sha256"])
def test_a_download_checks_whichever_checksum_the_object_carries(
    conn: s3po.Connection, kind: str
) -> None:
    """Objects stored with either hash (or by another s3po) are verified on the way down."""
    payload = b"carried checksum" * 100
    digest = {"s3po-xxh128": xxhash.xxh3_128_hexdigest, "s3po-sha256": _sha256}[kind]
    conn.backend.put(
        "bucket", "good", payload, headers=s3po.Headers(metadata={kind: digest(payload)})
    )
    assert conn.download_bytes("bucket", "good") == payload
    conn.backend.put("bucket", "bad", payload, headers=s3po.Headers(metadata={kind: digest(b"x")}))
    with pytest.raises(s3po.CorruptData, match="checksum mismatch"):
        conn.download_bytes("bucket", "bad")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("bad", ["md5", "crc32", ""])
def test_an_unknown_checksum_name_is_a_config_error(bad: str) -> None:
    with pytest.raises(s3po.ConfigError, match="unknown checksum"):
        s3po.TransferConfig(checksum=bad)
