"""Round trips through Connection and Transfer over the local backend, at every boundary."""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import xxhash
from s3po_local import LocalBackend

import s3po
from s3po.middleware import CodecLayer, Integrity
from s3po.testing import md5_etag, multipart_etag

KIB = 1024
PART = 64 * KIB
THRESHOLD = 128 * KIB
SIZES = [
    0,
    1,
    PART - 1,
    PART,
    PART + 1,
    THRESHOLD - 1,
    THRESHOLD,
    THRESHOLD + 1,
    5 * PART + 3,
]
CODECS = [None, "gzip", "zstd", "br"]
SOURCES = ["bytes", "path", "fileobj", "stream"]


class OneWay(io.RawIOBase):
    """A binary stream that cannot seek or tell, like a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _data(n: int) -> bytes:
    return random.Random(n).randbytes(n)


def _upload(
    conn: s3po.Connection, kind: str, key: str, data: bytes, tmp_path: Path, **kw: Any
) -> s3po.UploadResult:
    if kind == "bytes":
        result = conn.upload_string("bucket", key, data, **kw)
    elif kind == "path":
        src = tmp_path / "src.bin"
        src.write_bytes(data)
        result = conn.upload_file("bucket", key, src, **kw)
    elif kind == "fileobj":
        result = conn.upload_fileobj("bucket", key, io.BytesIO(data), **kw)
    else:
        result = conn.upload_fileobj("bucket", key, OneWay(data), **kw)  # type: ignore[call-overload]
    assert isinstance(result, s3po.UploadResult)
    return result


def _download(conn: s3po.Connection, kind: str, key: str, tmp_path: Path) -> bytes:
    if kind == "path":
        out = tmp_path / "out" / "copy.bin"
        result = conn.download_file("bucket", key, out)
        assert isinstance(result, s3po.DownloadResult)
        assert result.path == str(out)
        return out.read_bytes()
    if kind == "fileobj":
        sink = io.BytesIO()
        conn.download_fileobj("bucket", key, sink)
        return sink.getvalue()
    data = conn.download_bytes("bucket", key)
    assert isinstance(data, bytes)
    return data


def _expected_etag(stored: bytes) -> str:
    if len(stored) <= THRESHOLD:
        return md5_etag(stored)
    return multipart_etag([stored[i : i + PART] for i in range(0, len(stored), PART)])


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("kind", SOURCES)
@pytest.mark.parametrize("size", SIZES)
def test_round_trip(
    pconn: s3po.Connection,
    store: LocalBackend,
    tmp_path: Path,
    assert_clean: Callable[..., None],
    size: int,
    kind: str,
    codec: str | None,
) -> None:
    data = _data(size)
    result = _upload(pconn, kind, "obj", data, tmp_path, compress=codec)
    assert result.size == size
    assert _download(pconn, kind, "obj", tmp_path) == data

    stored = (store.root / "bucket" / "obj").read_bytes()
    info = pconn.head("bucket", "obj")
    assert info.size == len(stored) == result.stored_size
    assert info.etag == result.etag == _expected_etag(stored)
    assert info.is_multipart == (len(stored) > THRESHOLD)
    assert info.headers.content_encoding == codec
    if codec is None:
        assert stored == data
    else:
        assert stored != data
        assert info.headers.metadata["s3po-codec"] == codec
    assert pconn.download_bytes("bucket", "obj", decompress=False) == stored
    assert_clean()


@pytest.mark.parametrize("size", [THRESHOLD + 1, 5 * PART + 3, 10 * PART])
def test_multipart_etag_has_the_part_count(pconn: s3po.Connection, size: int) -> None:
    data = _data(size)
    result = pconn.upload_fileobj("bucket", "mp", io.BytesIO(data))
    assert isinstance(result, s3po.UploadResult)
    parts = math.ceil(size / PART)
    assert result.multipart
    assert result.etag.endswith(f"-{parts}")
    assert result.etag == multipart_etag([data[i : i + PART] for i in range(0, size, PART)])


@pytest.mark.parametrize("size", [0, 1, THRESHOLD])
def test_single_part_etag_is_the_md5(pconn: s3po.Connection, size: int) -> None:
    data = _data(size)
    result = pconn.upload_string("bucket", "sp", data)
    assert isinstance(result, s3po.UploadResult)
    assert not result.multipart
    assert result.etag == hashlib.md5(data).hexdigest()  # noqa: S324


@pytest.mark.parametrize("codec", ["gzip", "zstd", "br"])
@pytest.mark.parametrize("size", [1000, 3 * PART + 5])
def test_decompress_false_returns_stored_bytes(
    pconn: s3po.Connection, store: LocalBackend, tmp_path: Path, codec: str, size: int
) -> None:
    data = _data(size)
    pconn.upload_string("bucket", "c", data, compress=codec)
    stored = (store.root / "bucket" / "c").read_bytes()
    assert pconn.download_bytes("bucket", "c", decompress=False) == stored
    sink = io.BytesIO()
    pconn.download_fileobj("bucket", "c", sink, decompress=False)
    assert sink.getvalue() == stored
    pconn.download_file("bucket", "c", tmp_path / "raw", decompress=False)
    assert (tmp_path / "raw").read_bytes() == stored
    if codec == "gzip":
        assert gzip.decompress(stored) == data


@pytest.mark.parametrize("size", [5000, 4 * PART])
def test_stacked_content_encoding_is_undone_in_reverse(
    pconn: s3po.Connection, registries: s3po.Registries, size: int
) -> None:
    data = _data(size // 2) + b"x" * (size - size // 2)

    def encode(name: str, raw: bytes) -> bytes:
        encoder = registries.codecs.get(name).encoder()
        return encoder.encode(raw) + encoder.flush()

    stored = encode("zstd", encode("gzip", data))
    pconn.upload_string("bucket", "stacked", stored, headers={"Content-Encoding": "gzip, zstd"})
    assert pconn.download_bytes("bucket", "stacked") == data
    assert pconn.download_bytes("bucket", "stacked", decompress=False) == stored


def test_compress_on_top_of_an_existing_encoding(
    pconn: s3po.Connection, registries: s3po.Registries
) -> None:
    data = _data(20_000)
    encoder = registries.codecs.get("gzip").encoder()
    pre = encoder.encode(data) + encoder.flush()
    pconn.upload_string("bucket", "k", pre, headers={"Content-Encoding": "gzip"}, compress="br")
    assert pconn.head("bucket", "k").headers.content_encoding == "gzip, br"
    assert pconn.download_bytes("bucket", "k") == data


@pytest.mark.parametrize("size", [100, 3 * PART])
def test_unknown_content_encoding_raises(
    pconn: s3po.Connection, tmp_path: Path, assert_clean: Callable[..., None], size: int
) -> None:
    pconn.upload_string("bucket", "odd", _data(size), headers={"Content-Encoding": "x-unheard-of"})
    with pytest.raises(s3po.UnknownCodec, match="x-unheard-of"):
        pconn.download_bytes("bucket", "odd")
    with pytest.raises(s3po.UnknownCodec):
        pconn.download_string("bucket", "odd")
    sink = io.BytesIO()
    with pytest.raises(s3po.UnknownCodec):
        pconn.download_fileobj("bucket", "odd", sink)
    assert sink.getvalue() == b""
    target = tmp_path / "out.bin"
    with pytest.raises(s3po.UnknownCodec):
        pconn.download_file("bucket", "odd", target)
    assert not target.exists()
    # The stored bytes remain reachable on request.
    assert pconn.download_bytes("bucket", "odd", decompress=False) == _data(size)
    assert_clean()


def test_identity_encoding_is_no_encoding(pconn: s3po.Connection) -> None:
    pconn.upload_string("bucket", "id", b"plain", headers={"Content-Encoding": "identity"})
    assert pconn.download_bytes("bucket", "id") == b"plain"


def test_unknown_compress_raises_before_any_io(
    pconn: s3po.Connection, store: LocalBackend, tmp_path: Path
) -> None:
    src = tmp_path / "keep.txt"
    src.write_text("keep me")
    with pytest.raises(s3po.UnknownCodec, match="no-such-codec"):
        pconn.upload_string("bucket", "k", "text", compress="no-such-codec")
    with pytest.raises(s3po.UnknownCodec):
        pconn.upload_file("bucket", "k", src, compress="no-such-codec", delete=True)
    with pytest.raises(s3po.UnknownCodec):
        pconn.upload_fileobj("bucket", "k", io.BytesIO(b"x"), compress="no-such-codec")
    assert src.read_text() == "keep me"
    assert list(store.list("bucket")) == []
    assert list((store.root / "bucket").iterdir()) == []


def test_unknown_compress_in_transfer_config_raises_before_any_io(
    store: LocalBackend, registries: s3po.Registries
) -> None:
    transfer = s3po.Transfer(store, registries.codecs)
    config = s3po.TransferConfig(compress="no-such-codec")
    stream = io.BytesIO(b"data")
    with pytest.raises(s3po.UnknownCodec):
        transfer.upload("bucket", "k", stream, config=config)
    assert stream.tell() == 0
    assert list(store.list("bucket")) == []


@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [
        ("text/plain; charset=latin-1", "latin-1"),
        ('text/plain; charset="ISO-8859-1"', "iso-8859-1"),
        ("text/csv;charset=utf-16", "utf-16"),
        ("text/plain; format=flowed; charset=cp1252", "cp1252"),
    ],
)
def test_download_string_honours_the_charset(
    pconn: s3po.Connection, content_type: str, encoding: str
) -> None:
    text = "café, naïve, déjà vu"
    pconn.upload_string(
        "bucket", "t", text.encode(encoding), headers={"Content-Type": content_type}
    )
    assert pconn.download_string("bucket", "t") == text


def test_download_string_defaults_to_utf8_and_takes_an_encoding(pconn: s3po.Connection) -> None:
    pconn.upload_string("bucket", "u", "žluťoučký kůň ✓", compress="zstd")
    assert pconn.head("bucket", "u").headers.content_type == "text/plain; charset=utf-8"
    assert pconn.download_string("bucket", "u") == "žluťoučký kůň ✓"
    pconn.upload_string("bucket", "l", "café".encode("latin-1"))
    assert pconn.download_string("bucket", "l", encoding="latin-1") == "café"


@pytest.mark.parametrize("size", [100, 3 * PART + 1])
@pytest.mark.parametrize("codec", [None, "gzip"])
def test_headers_and_metadata_reach_the_stored_object(
    pconn: s3po.Connection, store: LocalBackend, tmp_path: Path, size: int, codec: str | None
) -> None:
    src = tmp_path / "report.csv"
    src.write_bytes(_data(size))
    pconn.upload_file(
        "bucket",
        "report.csv",
        src,
        compress=codec,
        headers={
            "Content-Type": "text/csv",
            "Cache-Control": "max-age=3600",
            "Content-Disposition": 'attachment; filename="report.csv"',
            "Content-Language": "en",
            "x-amz-meta-origin": "pipeline",
            "StorageClass": "STANDARD_IA",
        },
        metadata={"Run": "42"},
    )
    info = store.head("bucket", "report.csv")
    assert info.headers.content_type == "text/csv"
    assert info.headers.cache_control == "max-age=3600"
    assert info.headers.content_disposition == 'attachment; filename="report.csv"'
    assert info.headers.content_language == "en"
    assert info.headers.extra == {"StorageClass": "STANDARD_IA"}
    expected_meta = {"origin": "pipeline", "run": "42"}
    if codec:
        expected_meta["s3po-codec"] = codec
    expected_meta["s3po-xxh128"] = xxhash.xxh3_128_hexdigest(_data(size))
    assert dict(info.headers.metadata) == expected_meta
    assert info.headers.content_encoding == codec
    assert pconn.download_bytes("bucket", "report.csv") == _data(size)


def test_connection_default_headers_apply_under_the_calls(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    small_config: s3po.TransferConfig,
) -> None:
    config = small_config.evolve(
        headers=s3po.Headers(cache_control="no-store", metadata={"team": "data"})
    )
    conn = make_conn(config=config)
    conn.upload_string("bucket", "a", b"x", headers={"Cache-Control": "max-age=1"})
    conn.upload_string("bucket", "b", b"x", metadata={"extra": "1"})
    assert store.head("bucket", "a").headers.cache_control == "max-age=1"
    assert _user_meta(store.head("bucket", "a")) == {"team": "data"}
    assert store.head("bucket", "b").headers.cache_control == "no-store"
    assert _user_meta(store.head("bucket", "b")) == {"team": "data", "extra": "1"}


class Recorder(s3po.ForwardingBackend):
    """A user middleware that records the calls it sees."""

    def __init__(self, inner: s3po.Backend, log: list[str], name: str) -> None:
        super().__init__(inner)
        self.log = log
        self.tag = name

    def put(self, bucket: str, key: str, body: Any, **kw: Any) -> s3po.ObjectInfo:
        self.log.append(f"{self.tag}:put {key}")
        return super().put(bucket, key, body, **kw)

    def get(self, bucket: str, key: str, **kw: Any) -> s3po.GetResult:
        self.log.append(f"{self.tag}:get {key}")
        return super().get(bucket, key, **kw)

    def head(self, bucket: str, key: str) -> s3po.ObjectInfo:
        self.log.append(f"{self.tag}:head {key}")
        return super().head(bucket, key)


def test_user_middleware_sees_calls(
    make_conn: Callable[..., s3po.Connection],
    small_config: s3po.TransferConfig,
    tmp_path: Path,
) -> None:
    log: list[str] = []
    layers: list[Recorder] = []

    def outer(inner: s3po.Backend) -> s3po.Backend:
        layers.append(Recorder(inner, log, "outer"))
        return layers[-1]

    def inner(below: s3po.Backend) -> s3po.Backend:
        layers.append(Recorder(below, log, "inner"))
        return layers[-1]

    conn = make_conn(config=small_config.evolve(middleware=(outer, inner)))
    src = tmp_path / "f"
    src.write_bytes(b"payload")
    conn.upload_file("bucket", "k", src, compress="gzip", delete=True)
    assert conn.download_bytes("bucket", "k") == b"payload"
    assert log == [
        "outer:put k",
        "inner:put k",
        "outer:head k",  # the verification before delete=True removes the file
        "inner:head k",
        "outer:get k",
        "inner:get k",
    ]
    # User middleware sits above integrity and the codec layer: it sees the caller's bytes.
    innermost = [layer for layer in layers if layer.tag == "inner"]
    assert innermost
    assert all(isinstance(layer.inner, Integrity) for layer in innermost)
    assert all(isinstance(layer.inner.inner, CodecLayer) for layer in innermost)  # type: ignore[attr-defined]


def test_transfer_results_report_sizes(pconn: s3po.Connection, store: LocalBackend) -> None:
    data = b"a" * 100_000
    result = pconn.upload_string("bucket", "z", data, compress="gzip")
    assert isinstance(result, s3po.UploadResult)
    assert result.size == len(data)
    assert result.stored_size == store.head("bucket", "z").size < len(data)
    assert result.content_encoding == "gzip"


def test_seed_workflow(tmp_path: Path) -> None:
    tmp = tmp_path / "root"
    path = tmp_path / "big.json"
    out = tmp_path / "out.json"
    payload = b'{"n": 1}\n' * 1_400_000  # ~12 MiB: above the default 10 MiB threshold
    path.write_bytes(payload)

    conn = s3po.Connection(backend="local", root=tmp)
    conn.uploadString("bucket", "key", "some text", compress="gzip")
    assert conn.downloadString("bucket", "key") == "some text"
    conn.uploadFile(
        "bucket", "big", path, retries=10, delete=True, headers={"Content-Type": "application/json"}
    )
    conn.downloadFile("bucket", "big", out)

    assert out.read_bytes() == payload
    assert not path.exists()
    info = conn.head("bucket", "big")
    assert info.headers.content_type == "application/json"
    assert info.is_multipart
    assert conn.head("bucket", "key").headers.content_encoding == "gzip"
    conn.close()


def _user_meta(info: s3po.ObjectInfo) -> dict[str, str]:
    return {k: v for k, v in info.headers.metadata.items() if not k.startswith("s3po-")}
