"""Hostile bodies over HTTP: the HTTP library never decodes a body, s3po does, bounded."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

import s3po
from s3po.codecs import MAX_ENCODING_LAYERS

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


@pytest.fixture(params=["s3", "obstore"])
def conn(s3_server: Any, request: pytest.FixtureRequest) -> Iterator[s3po.Connection]:
    """A Connection over boto3/urllib3, then over obstore (Rust reqwest)."""
    if request.param == "obstore":
        pytest.importorskip("obstore")
        from s3po_obstore.backend import ObstoreBackend  # noqa: PLC0415 - optional

        backend: s3po.Backend | str = ObstoreBackend(**s3_server.options())
        with s3po.Connection(backend) as c:
            yield c
        return
    with s3po.Connection("s3", **s3_server.options()) as c:
        yield c


def _gzip_bomb(gib: int) -> bytes:
    """gzip x3 over ``gib`` GiB of zeros (concatenated members inside), under 1 KB."""
    body = gzip.compress(bytes(MIB), compresslevel=9, mtime=0) * (gib * 1024)
    for _ in range(2):
        packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        body = packer.compress(body) + packer.flush()
    return body


def test_fifty_stacked_gzip_tokens_is_a_typed_error(
    s3_server: Any, s3_bucket: str, conn: s3po.Connection
) -> None:
    body = gzip.compress(b"hello", mtime=0)
    encoding = ", ".join(["gzip"] * 50)
    s3_server.admin.put_object(Bucket=s3_bucket, Key="deep", Body=body, ContentEncoding=encoding)
    with pytest.raises(s3po.CorruptData) as info:
        conn.download_bytes(s3_bucket, "deep")
    assert "50 encodings" in str(info.value)
    assert f"at most {MAX_ENCODING_LAYERS}" in str(info.value)
    assert "decompress=False" in str(info.value)
    assert info.value.key == "deep"
    # The HTTP library hands over the stored bytes, whatever Content-Encoding says.
    assert conn.download_bytes(s3_bucket, "deep", decompress=False) == body


@pytest.mark.parametrize("encoding", ["gzip", "gzip, gzip, gzip"])
def test_the_http_library_never_decodes(
    s3_server: Any, s3_bucket: str, conn: s3po.Connection, encoding: str
) -> None:
    body = b"plain"
    for _ in encoding.split(","):
        body = gzip.compress(body, mtime=0)
    s3_server.admin.put_object(Bucket=s3_bucket, Key="k", Body=body, ContentEncoding=encoding)
    assert conn.download_bytes(s3_bucket, "k", decompress=False) == body
    assert conn.download_bytes(s3_bucket, "k") == b"plain"


def test_gzip_x3_bomb_over_http(s3_server: Any, s3_bucket: str, conn: s3po.Connection) -> None:
    bomb = _gzip_bomb(10)
    s3_server.admin.put_object(
        Bucket=s3_bucket, Key="bomb", Body=bomb, ContentEncoding="gzip, gzip, gzip"
    )
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        with conn.transfer.open(s3_bucket, "bomb") as result:
            seen = 0
            while seen < 100 * MIB:
                chunk = result.body.read(MIB)
                assert chunk
                seen += len(chunk)
        streamed = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        with pytest.raises(s3po.CorruptData, match="max_expansion_ratio") as info:
            conn.download_bytes(s3_bucket, "bomb")
        in_memory = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert info.value.key == "bomb"
    assert streamed < 24 * MIB
    assert in_memory < 256 * MIB
