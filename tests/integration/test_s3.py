"""The S3 backend and the whole pipeline against real servers (moto and SeaweedFS)."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from s3po_s3.backend import S3Backend

import s3po
from s3po import Capabilities, ChunkConfig, Headers, PartInfo, TransferConfig
from s3po.backend import checksums
from s3po.testing import FlakyBackend, multipart_etag

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
SMALL_PARTS = TransferConfig(
    chunk=ChunkConfig(threshold=5 * MIB, part_size=5 * MIB, max_concurrency=4)
)


def _data(n: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 4096
    return (block * (n // len(block) + 1))[:n]


@pytest.fixture
def backend(s3_server: Any) -> Iterator[S3Backend]:
    b = S3Backend(**s3_server.options())
    yield b
    b.close()


@pytest.fixture
def conn(s3_server: Any) -> Iterator[s3po.Connection]:
    with s3po.Connection("s3", config=SMALL_PARTS, **s3_server.options()) as c:
        yield c


def _uploads(s3_server: Any, bucket: str) -> list[Any]:
    return list(s3_server.admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


# -- multipart ------------------------------------------------------------------------------


class _CountingGets(s3po.ForwardingBackend):
    def __init__(self, inner: s3po.Backend) -> None:
        super().__init__(inner)
        self.ranges: list[tuple[int, int | None]] = []
        self._lock = threading.Lock()

    def get(self, bucket: str, key: str, **kw: Any) -> s3po.GetResult:
        with self._lock:
            self.ranges.append((kw.get("start", 0), kw.get("end")))
        return self.inner.get(bucket, key, **kw)


def test_large_upload_and_parallel_ranged_download(
    s3_server: Any, s3_bucket: str, backend: S3Backend
) -> None:
    data = _data(3 * 5 * MIB, 1)
    counting = _CountingGets(backend)
    with s3po.Connection(counting, config=SMALL_PARTS) as c:
        result = c.upload_fileobj(s3_bucket, "big.bin", io.BytesIO(data))
        assert result.multipart
        assert result.etag.endswith("-3")
        assert c.download_bytes(s3_bucket, "big.bin") == data
    assert len(counting.ranges) >= 3  # the opening GET, then ranged GETs for the rest
    assert any(start > 0 for start, _ in counting.ranges)
    plain = s3_server.admin.head_object(Bucket=s3_bucket, Key="big.bin")
    assert plain["ETag"].strip('"').endswith("-3")
    assert plain["ContentLength"] == len(data)


def test_multipart_etag_form_and_read_back(backend: S3Backend, s3_bucket: str) -> None:
    parts_data = [_data(5 * MIB, 2), _data(100, 3)]
    upload_id = backend.start_multipart(s3_bucket, "mp", headers=Headers())
    parts = [
        backend.put_part(s3_bucket, "mp", upload_id, n, d)
        for n, d in enumerate(parts_data, start=1)
    ]
    info = backend.complete_multipart(s3_bucket, "mp", upload_id, parts)
    assert info.etag.endswith("-2")
    assert info.size == sum(map(len, parts_data))
    with backend.get(s3_bucket, "mp", start=5 * MIB - 10, end=5 * MIB + 10) as result:
        assert result.body.readall() == b"".join(parts_data)[5 * MIB - 10 : 5 * MIB + 10]
        assert (result.start, result.end) == (5 * MIB - 10, 5 * MIB + 10)


def test_complete_again_after_success_is_accepted(backend: S3Backend, s3_bucket: str) -> None:
    # Both servers answer a repeated CompleteMultipartUpload with the same ETag (as S3 may).
    upload_id = backend.start_multipart(s3_bucket, "twice", headers=Headers())
    parts = [backend.put_part(s3_bucket, "twice", upload_id, 1, b"only part")]
    first = backend.complete_multipart(s3_bucket, "twice", upload_id, parts)
    again = backend.complete_multipart(s3_bucket, "twice", upload_id, parts)
    assert again.etag == first.etag


def test_failed_part_aborts_upload(s3_server: Any, s3_bucket: str, backend: S3Backend) -> None:
    flaky = FlakyBackend(
        backend,
        failures={"put_part": 1},
        error=lambda op: s3po.AccessDenied(f"injected refusal of {op}"),
    )
    with s3po.Connection(flaky, config=SMALL_PARTS) as c, pytest.raises(s3po.AccessDenied):
        c.upload_fileobj(s3_bucket, "fails", io.BytesIO(_data(12 * MIB)))
    assert _uploads(s3_server, s3_bucket) == []
    with pytest.raises(s3po.NoSuchKey):
        backend.head(s3_bucket, "fails")


class _Breaks(io.RawIOBase):
    """A stream that gives ``good`` bytes, then fails."""

    def __init__(self, good: int) -> None:
        self.left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            raise OSError("source disk failed")
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        return n


def test_source_failing_midway_aborts_upload(
    s3_server: Any, s3_bucket: str, conn: s3po.Connection
) -> None:
    with pytest.raises(OSError, match="source disk failed"):
        conn.upload_fileobj(s3_bucket, "broken", io.BufferedReader(_Breaks(12 * MIB)))
    assert _uploads(s3_server, s3_bucket) == []


@pytest.mark.parametrize("policy", ["crc32", "md5", "when_supported"])
@pytest.mark.parametrize("s3_server", ["moto", "seaweedfs"], indirect=True)
def test_every_checksum_policy_round_trips(s3_server: Any, s3_bucket: str, policy: str) -> None:
    backend = S3Backend(checksum=policy, **s3_server.options())
    data = _data(5 * MIB, 4)
    backend.put(s3_bucket, "small", b"hello", headers=Headers())
    upload_id = backend.start_multipart(s3_bucket, "crc", headers=Headers())
    parts = [
        backend.put_part(s3_bucket, "crc", upload_id, 1, data),
        backend.put_part(s3_bucket, "crc", upload_id, 2, b"tail"),
    ]
    backend.complete_multipart(s3_bucket, "crc", upload_id, parts)
    with backend.get(s3_bucket, "crc") as result:
        assert result.body.readall() == data + b"tail"
    with backend.get(s3_bucket, "small") as result:
        assert result.body.readall() == b"hello"
    backend.close()


def test_copy_in_parts(backend: S3Backend, s3_bucket: str) -> None:
    data = _data(13 * MIB, 5)
    backend.put(s3_bucket, "src", data, headers=Headers(metadata={"k": "v"}))
    backend.capabilities = Capabilities(max_part_size=6 * MIB)  # so 13 MiB needs parts
    info = backend.copy(s3_bucket, "src", s3_bucket, "dst")
    assert info.etag.endswith("-3")
    with backend.get(s3_bucket, "dst") as result:
        assert result.body.readall() == data
        assert dict(result.info.headers.metadata) == {"k": "v"}


# -- headers, codecs and plain-boto3 interoperability --------------------------------------


def test_metadata_round_trip(s3_server: Any, s3_bucket: str, conn: s3po.Connection) -> None:
    conn.upload_string(
        s3_bucket,
        "m.txt",
        "hi",
        headers={"Cache-Control": "no-cache", "Content-Language": "en"},
        metadata={"owner": "team-a", "run": "42"},
    )
    info = conn.head(s3_bucket, "m.txt")
    assert _user(info.headers.metadata) == {"owner": "team-a", "run": "42"}
    assert info.headers.cache_control == "no-cache"
    assert info.headers.content_language == "en"
    plain = s3_server.admin.head_object(Bucket=s3_bucket, Key="m.txt")
    assert _user(plain["Metadata"]) == {"owner": "team-a", "run": "42"}


def _user(metadata: Mapping[str, str]) -> dict[str, str]:
    """User metadata, without the ``s3po-*`` entries s3po records for itself."""
    return {k: v for k, v in metadata.items() if not k.startswith("s3po-")}


def test_gzip_upload_readable_by_plain_boto3(
    s3_server: Any, s3_bucket: str, conn: s3po.Connection
) -> None:
    text = "compressible line\n" * 2000
    conn.upload_string(s3_bucket, "g.txt", text, compress="gzip")
    response = s3_server.admin.get_object(Bucket=s3_bucket, Key="g.txt")
    assert response["ContentEncoding"] == "gzip"
    stored = response["Body"].read()
    assert len(stored) < len(text)
    assert gzip.decompress(stored).decode() == text


def test_object_from_plain_boto3_readable(
    s3_server: Any, s3_bucket: str, conn: s3po.Connection
) -> None:
    s3_server.admin.put_object(
        Bucket=s3_bucket, Key="p.gz", Body=gzip.compress(b"plain"), ContentEncoding="gzip"
    )
    assert conn.download_bytes(s3_bucket, "p.gz") == b"plain"


def test_ranged_get_edges(backend: S3Backend, s3_bucket: str) -> None:
    backend.put(s3_bucket, "r", b"0123456789", headers=Headers())
    backend.put(s3_bucket, "empty", b"", headers=Headers())
    with backend.get(s3_bucket, "r", start=20) as result:
        assert result.body.readall() == b""
        assert (result.start, result.end, result.info.size) == (10, 10, 10)
    with backend.get(s3_bucket, "r", start=4, end=4) as result:
        assert result.body.readall() == b""
    with backend.get(s3_bucket, "r", start=8, end=100) as result:
        assert result.body.readall() == b"89"
        assert (result.start, result.end) == (8, 10)
    with backend.get(s3_bucket, "empty", start=0) as result:
        assert result.body.readall() == b""


# -- errors ---------------------------------------------------------------------------------


def test_missing_bucket(backend: S3Backend) -> None:
    for call in (
        lambda: backend.head("s3po-missing-bucket", "k"),
        lambda: backend.get("s3po-missing-bucket", "k"),
        lambda: backend.put("s3po-missing-bucket", "k", b"x", headers=Headers()),
        lambda: list(backend.list("s3po-missing-bucket")),
        lambda: backend.start_multipart("s3po-missing-bucket", "k", headers=Headers()),
    ):
        with pytest.raises(s3po.NoSuchBucket, match="s3po-missing-bucket"):
            call()


def test_missing_key_message(backend: S3Backend, s3_bucket: str) -> None:
    with pytest.raises(s3po.NoSuchKey) as info:
        backend.head(s3_bucket, "nope/key")
    assert f"s3://{s3_bucket}/nope/key" in str(info.value)
    assert info.value.bucket == s3_bucket
    assert info.value.key == "nope/key"


@pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)
@pytest.mark.parametrize("wrong", ["secret", "key"])
def test_wrong_credentials_refused(s3_server: Any, s3_bucket: str, wrong: str) -> None:
    options = s3_server.options()
    if wrong == "secret":
        options["aws_secret_access_key"] = "not-the-secret"  # noqa: S105
    else:
        options["aws_access_key_id"] = "not-a-key"
    s3_server.admin.put_object(Bucket=s3_bucket, Key="k", Body=b"x")
    backend = S3Backend(**options)
    for call in (
        lambda: backend.head(s3_bucket, "k"),
        lambda: backend.get(s3_bucket, "k"),
        lambda: backend.put(s3_bucket, "k2", b"x", headers=Headers()),
        lambda: list(backend.list(s3_bucket)),
    ):
        with pytest.raises(s3po.AccessDenied) as info:
            call()
        assert "not-the-secret" not in str(info.value)
        assert "credentials" in str(info.value) or "secret key" in str(info.value)
    backend.close()


# -- configuration from the environment -----------------------------------------------------


def test_connection_from_environment(
    s3_server: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("S3PO_BACKEND", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("S3PO_ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("S3PO_REGION", s3_server.region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    with s3po.Connection() as c:
        assert c.backend.name == "obstore"  # the default: obstore, boto3 behind it
        c.upload_string(s3_bucket, "env.txt", "from the environment")
        assert c.download_string(s3_bucket, "env.txt") == "from the environment"


# -- answers real servers do not give: a fake endpoint ---------------------------------------


class _Fake(http.server.BaseHTTPRequestHandler):
    """Answers every POST with ``status`` and an ``<Error>`` of ``code``; HEAD with ``etag``."""

    status = 200
    code = "InternalError"
    etag = ""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>try again</Message></Error>"
        ).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("ETag", f'"{self.etag}"')
        self.send_header("Content-Length", "10")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_endpoint() -> Iterator[Any]:
    """Start a fake endpoint; call the result with handler attributes to get a backend."""
    servers: list[http.server.ThreadingHTTPServer] = []
    backends: list[S3Backend] = []

    def make(**attributes: Any) -> S3Backend:
        handler = type("Handler", (_Fake,), attributes)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        backend = S3Backend(
            endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
            aws_access_key_id="k",
            aws_secret_access_key="s",  # noqa: S106
        )
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        backend.close()
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("InternalError", s3po.TransientError),
        ("SlowDown", s3po.TransientError),
        ("InvalidPart", s3po.InvalidPart),
    ],
)
def test_complete_200_with_error_body(
    fake_endpoint: Any, code: str, expected: type[Exception]
) -> None:
    backend = fake_endpoint(code=code)
    with pytest.raises(expected, match=code):
        backend.complete_multipart("bucket", "key", "upload", [PartInfo(1, "0" * 32, 5)])


def test_complete_retried_after_success_is_accepted(fake_endpoint: Any) -> None:
    parts = [PartInfo(1, hashlib.md5(b"a").hexdigest(), 5)]  # noqa: S324
    expected = multipart_etag([b"a"])
    backend = fake_endpoint(status=404, code="NoSuchUpload", etag=expected)
    assert backend.complete_multipart("bucket", "key", "upload", parts).etag == expected
    other = fake_endpoint(status=404, code="NoSuchUpload", etag="0" * 32 + "-1")
    with pytest.raises(s3po.NoSuchUpload, match="start a new one"):
        other.complete_multipart("bucket", "key", "upload", parts)


@pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)
def test_the_server_checks_the_crc32_s3po_sends(
    s3_server: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SeaweedFS verifies x-amz-checksum-crc32 (moto stores it unchecked), so a wrong one fails."""
    backend = S3Backend(**s3_server.options())
    backend.put(s3_bucket, "good", b"hello", headers=Headers())
    stored = s3_server.admin.head_object(Bucket=s3_bucket, Key="good", ChecksumMode="ENABLED")
    crc32 = checksums.crc("crc32")
    assert stored["ChecksumCRC32"] == crc32.encode(crc32.of(b"hello"))
    monkeypatch.setattr(checksums.Crc, "encode", lambda _self, _value: "AAAAAA==")
    with pytest.raises(s3po.TransientError, match="BadDigest"):
        backend.put(s3_bucket, "bad", b"hello", headers=Headers())
    backend.close()
