"""The obstore backend: the backend contract against moto and SeaweedFS, and its own rules."""

from __future__ import annotations

import gzip
import importlib.util
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import obstore.exceptions as oe
import pytest
from s3po_obstore._errors import StreamBody, translate
from s3po_obstore._store import key_is_plain
from s3po_obstore.backend import ObstoreBackend

import s3po
from s3po.backend import ALL_CONDITIONS
from s3po.testing import BackendContract


def _faults() -> ModuleType:
    name = "s3po_test_faults"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "faults.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


#: As measured (docs/s3-compatible.md): moto 5.2 ignores If-Match on CompleteMultipartUpload.
SERVER_CONDITIONS = {
    "moto": ALL_CONDITIONS - {"complete-if-match"},
    "seaweedfs": ALL_CONDITIONS,
}


def _backend(server: Any, endpoint_url: str | None = None) -> ObstoreBackend:
    return ObstoreBackend(
        **{**server.options(), "endpoint_url": endpoint_url or server.endpoint_url}
    )


@pytest.mark.integration
class TestObstoreContract(BackendContract):
    @pytest.fixture
    def backend(self, s3_server: Any) -> Iterator[ObstoreBackend]:
        backend = ObstoreBackend(
            **{**s3_server.options(), "conditions": SERVER_CONDITIONS[s3_server.name]}
        )
        yield backend
        backend.close()

    @pytest.fixture
    def bucket(self, s3_bucket: str) -> str:
        return s3_bucket


# -- against the real servers --------------------------------------------------------------


@pytest.fixture
def backend(s3_server: Any) -> Iterator[ObstoreBackend]:
    backend = _backend(s3_server)
    yield backend
    backend.close()


@pytest.mark.integration
def test_metadata_readable_by_boto3(
    backend: ObstoreBackend, s3_server: Any, s3_bucket: str
) -> None:
    headers = s3po.Headers(
        content_type="application/json",
        content_encoding="gzip",
        cache_control="max-age=60",
        content_disposition="inline",
        content_language="en",
        metadata={"origin": "obstore", "n": "1"},
    )
    info = backend.put(s3_bucket, "m.json", b"{}", headers=headers)
    head = s3_server.admin.head_object(Bucket=s3_bucket, Key="m.json")
    assert head["ContentType"] == "application/json"
    assert head["ContentEncoding"] == "gzip"
    assert head["CacheControl"] == "max-age=60"
    assert head["ContentDisposition"] == "inline"
    assert head["ContentLanguage"] == "en"
    assert head["Metadata"] == {"origin": "obstore", "n": "1"}
    assert head["ETag"].strip('"') == info.etag
    assert '"' not in info.etag
    s3_server.admin.put_object(
        Bucket=s3_bucket, Key="b", Body=b"x", ContentType="text/plain", Metadata={"Who": "boto3"}
    )
    with backend.get(s3_bucket, "b") as result:
        assert result.info.headers.content_type == "text/plain"
        assert dict(result.info.headers.metadata) == {"who": "boto3"}
        assert '"' not in result.info.etag


@pytest.mark.integration
def test_compressed_object_readable_by_boto3(s3_server: Any, s3_bucket: str) -> None:
    text = "a line of log text\n" * 2000
    with s3po.Connection(backend="obstore", **s3_server.options()) as conn:
        assert isinstance(conn.backend, ObstoreBackend)
        conn.upload_string(s3_bucket, "log.txt", text, compress="gzip")
        assert conn.download_string(s3_bucket, "log.txt") == text
    got = s3_server.admin.get_object(Bucket=s3_bucket, Key="log.txt")
    assert got["ContentEncoding"] == "gzip"
    assert gzip.decompress(got["Body"].read()).decode() == text


@pytest.mark.integration
@pytest.mark.parametrize("key", ["dir/", "/lead", "a//b", "a/./b", "tab\tkey"])
def test_keys_obstore_cannot_carry_go_through_boto3(
    backend: ObstoreBackend, s3_server: Any, s3_bucket: str, key: str
) -> None:
    if s3_server.name == "seaweedfs" and key != "tab\tkey":
        pytest.skip("SeaweedFS normalises these keys (and empties folder markers) itself")
    backend.put(s3_bucket, key, b"odd", headers=s3po.Headers())
    assert [o["Key"] for o in s3_server.admin.list_objects_v2(Bucket=s3_bucket)["Contents"]] == [
        key
    ]
    with backend.get(s3_bucket, key) as result:
        assert result.body.readall() == b"odd"
    backend.delete(s3_bucket, key)


@pytest.mark.integration
def test_large_body_streams(backend: ObstoreBackend, s3_bucket: str) -> None:
    data = bytes(range(256)) * (3 * 4096 + 3)  # a little over 3 MiB
    backend.put(s3_bucket, "big", data, headers=s3po.Headers())
    with backend.get(s3_bucket, "big") as result:
        assert isinstance(result.body, StreamBody)
        assert result.body.read(10) == data[:10]
        assert result.body.readall() == data[10:]
    with backend.get(s3_bucket, "big", start=5, end=2_000_000) as result:
        assert (result.start, result.end) == (5, 2_000_000)
        assert result.body.readall() == data[5:2_000_000]


@pytest.mark.integration
def test_errors_are_typed(backend: ObstoreBackend, s3_bucket: str) -> None:
    with pytest.raises(s3po.NoSuchKey, match=f"s3://{s3_bucket}/nope"):
        backend.get(s3_bucket, "nope")
    with pytest.raises(s3po.NoSuchBucket, match="s3po-no-such-bucket"):
        backend.get("s3po-no-such-bucket", "k")
    with pytest.raises(s3po.NoSuchBucket):
        backend.put("s3po-no-such-bucket", "k", b"x", headers=s3po.Headers())
    backend.delete(s3_bucket, "never-there")
    info = backend.put(s3_bucket, "k", b"one", headers=s3po.Headers())
    backend.put(s3_bucket, "k", b"two", headers=s3po.Headers())
    with pytest.raises(s3po.PreconditionFailed):
        backend.get(s3_bucket, "k", if_match=info.etag)


@pytest.mark.integration
def test_wrong_secret_is_access_denied(seaweedfs_server: Any) -> None:
    options = {**seaweedfs_server.options(), "aws_secret_access_key": "wrong"}
    backend = ObstoreBackend(**options)
    with pytest.raises(s3po.AccessDenied):
        backend.get("any-bucket", "k")
    backend.close()


@pytest.mark.integration
def test_credentials_from_environment(
    seaweedfs_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweedfs_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweedfs_server.secret_key)
    bucket = "s3po-env-credentials"
    backend = ObstoreBackend(endpoint_url=seaweedfs_server.endpoint_url)
    backend.create_bucket(bucket)
    backend.put(bucket, "k", b"env", headers=s3po.Headers())
    with backend.get(bucket, "k") as result:
        assert result.body.readall() == b"env"
    backend.delete(bucket, "k")
    seaweedfs_server.admin.delete_bucket(Bucket=bucket)
    backend.close()


@pytest.mark.integration
def test_credentials_from_session(seaweedfs_server: Any) -> None:
    bucket = "s3po-session-credentials"
    seaweedfs_server.admin.create_bucket(Bucket=bucket)
    backend = ObstoreBackend(
        endpoint_url=seaweedfs_server.endpoint_url, session=seaweedfs_server.session
    )
    backend.put(bucket, "k", b"session", headers=s3po.Headers())
    with backend.get(bucket, "k") as result:
        assert result.body.readall() == b"session"
    backend.delete(bucket, "k")
    seaweedfs_server.admin.delete_bucket(Bucket=bucket)
    backend.close()


@pytest.fixture(scope="module")
def proxy(moto_server: Any) -> Iterator[Any]:
    with _faults().FaultProxy(moto_server.endpoint_url, stall_seconds=3) as proxy:
        yield proxy


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["slowdown", "internal", "throttle", "reset_before", "stall"])
@pytest.mark.parametrize("operation", ["GetObject", "PutObject"])
def test_faults_are_transient(moto_server: Any, proxy: Any, kind: str, operation: str) -> None:
    moto_server.reset()
    moto_server.admin.create_bucket(Bucket="faults")
    backend = ObstoreBackend(
        **{**moto_server.options(), "endpoint_url": proxy.url, "read_timeout": 1.0}
    )
    backend.put("faults", "k", b"data" * 1000, headers=s3po.Headers())
    proxy.configure(_faults().FaultPlan())
    proxy.inject(kind, operation=operation)

    def call() -> None:
        if operation == "GetObject":
            backend.get("faults", "k").body.readall()
        else:
            backend.put("faults", "k", b"data", headers=s3po.Headers())

    with pytest.raises(s3po.TransientError, match="s3://faults/k"):
        call()
    assert [r.fault for r in proxy.records] == [kind]
    backend.close()


@pytest.mark.integration
@pytest.mark.parametrize("size", [5000, 2 << 20], ids=["small", "2MiB"])
def test_bodies_read_to_their_last_byte_give_their_connection_back(
    moto_server: Any, proxy: Any, size: int
) -> None:
    """GETs in a row, each read to its last byte and dropped, share one connection.

    The stream is not asked for its end after the last byte; the body has ended all the
    same. (A 2 MiB body dropped after its first 100 bytes opens a connection per GET.)
    The connection goes back to the pool from obstore's runtime, after the last byte is
    handed over: each GET waits a moment for it, so a loaded machine's scheduling cannot
    start the next GET first (a closed connection would open a new one however long it
    waited).
    """
    moto_server.reset()
    moto_server.admin.create_bucket(Bucket="reuse")
    proxy.configure(_faults().FaultPlan())
    backend = ObstoreBackend(**{**moto_server.options(), "endpoint_url": proxy.url})
    backend.put("reuse", "k", b"z" * size, headers=s3po.Headers())
    before = proxy.accepted
    for _ in range(10):
        result = backend.get("reuse", "k")
        assert result.body.readall() == b"z" * size
        del result
        time.sleep(0.05)
    opened = proxy.accepted - before
    backend.close()
    assert opened <= 1


@pytest.mark.integration
def test_a_body_dropped_before_its_end_gives_no_connection_back(
    moto_server: Any, proxy: Any
) -> None:
    """The other side of the test above: a body left unread closes its connection."""
    moto_server.reset()
    moto_server.admin.create_bucket(Bucket="reuse")
    proxy.configure(_faults().FaultPlan())
    backend = ObstoreBackend(**{**moto_server.options(), "endpoint_url": proxy.url})
    backend.put("reuse", "k", b"z" * (2 << 20), headers=s3po.Headers())
    before = proxy.accepted
    for _ in range(5):
        result = backend.get("reuse", "k")
        assert result.body.read(100) == b"z" * 100
        result.body.close()
        del result
        time.sleep(0.05)
    opened = proxy.accepted - before
    backend.close()
    assert opened >= 4


@pytest.mark.integration
def test_truncated_body_is_transient_and_retried(moto_server: Any, proxy: Any) -> None:
    moto_server.reset()
    moto_server.admin.create_bucket(Bucket="faults")
    options = {**moto_server.options(), "endpoint_url": proxy.url}
    with s3po.Connection(backend="obstore", **options) as conn:
        conn.upload_string("faults", "k", "x" * 5000, compress=None)
        proxy.configure(_faults().FaultPlan())
        proxy.inject("truncate", operation="GetObject")
        assert conn.download_string("faults", "k") == "x" * 5000
    assert [r.fault for r in proxy.records].count("truncate") == 1


# -- options and registration ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("ENDPOINT_URL", "REGION", "PROFILE", "ADDRESSING_STYLE", "CHECKSUM"):
        monkeypatch.delenv(f"S3PO_{name}", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for name in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    # boto3's endpoint settings, and obstore's
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


def test_store_settings() -> None:
    backend = ObstoreBackend(
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="a",
        aws_secret_access_key="b",  # noqa: S106
    )
    store = backend.stores.get("bkt")
    assert backend.stores.get("bkt") is store
    assert backend.stores.get("other") is not store
    assert (store.retry_config or {}).get("max_retries") == 0
    client = store.client_options or {}
    assert str(client["allow_http"]) == "true"
    assert client["pool_max_idle_per_host"] == "64"
    assert str(store.config["virtual_hosted_style_request"]) == "false"
    assert store.config["region"] == "us-east-1"
    assert backend.name == "obstore"
    assert backend.capabilities.max_connections == 64
    config: Any = backend.s3.client.meta.config
    assert config.retries["total_max_attempts"] == 1
    backend.close()


def test_options_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3PO_ENDPOINT_URL", "https://store.example")
    monkeypatch.setenv("S3PO_REGION", "eu-west-3")
    monkeypatch.setenv("S3PO_ADDRESSING_STYLE", "virtual")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-env")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-env-secret")
    backend = ObstoreBackend()
    store = backend.stores.get("bkt")
    assert store.config["endpoint"] == "https://store.example"
    assert store.config["region"] == "eu-west-3"
    assert str(store.config["virtual_hosted_style_request"]) == "true"
    assert "access_key_id" not in store.config  # obstore reads the environment itself
    assert str((store.client_options or {})["allow_http"]) == "false"
    backend.close()


@pytest.mark.parametrize("options", [{"addressing_style": "sideways"}, {"max_pool_connections": 0}])
def test_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(s3po.ConfigError):
        ObstoreBackend(**options)


def test_repr_hides_credentials() -> None:
    backend = ObstoreBackend(
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="AKIDSECRETISH",
        aws_secret_access_key="very-secret-value",  # noqa: S106
    )
    assert "very-secret-value" not in repr(backend)
    assert "AKIDSECRETISH" not in repr(backend)
    assert "127.0.0.1:9" in repr(backend)


def test_registered_as_obstore(registries: s3po.Registries) -> None:
    backend = registries.backends.create("obstore", endpoint_url="http://127.0.0.1:9")
    assert isinstance(backend, ObstoreBackend)
    backend.close()


@pytest.mark.parametrize(
    ("key", "plain"),
    [
        ("plain", True),
        ("a/b/c.txt", True),
        ("q?x=1&y=2", True),
        ("per%cent", True),
        ("ünïcødé/ключ", True),
        ("dir/", False),
        ("/lead", False),
        ("a//b", False),
        ("a/../b", False),
        (".", False),
        ("..", False),
        ("./a", False),
        ("a/.", False),
        ("a/./b", False),
        ("a/..b/.c", True),
        ("x.txt", True),
        ("tab\tkey", False),
        ("nul\x00", False),
        ("del\x7fkey", False),
        ("\x1fstart", False),
        ("nbsp\xa0ok", True),
    ],
)
def test_key_is_plain(key: str, plain: bool) -> None:
    assert key_is_plain(key) is plain


# -- error translation ----------------------------------------------------------------------

_URL = "Error performing GET http://127.0.0.1:9/b/k in 1ms - Server returned non-2xx status code"


def _generic(status: str, code: str | None) -> oe.GenericError:
    body = f"<Error><Code>{code}</Code><Message>server says no</Message></Error>" if code else ""
    return oe.GenericError(f"Generic S3 error: {_URL}: {status}: {body}")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (FileNotFoundError(f"{_URL}: 404 Not Found: <Code>NoSuchKey</Code>"), s3po.NoSuchKey),
        (
            FileNotFoundError(f"{_URL}: 404 Not Found: <Code>NoSuchBucket</Code>"),
            s3po.NoSuchBucket,
        ),
        (FileNotFoundError(f"{_URL}: 404 Not Found"), s3po.NoSuchKey),
        (oe.PreconditionError("412 Precondition Failed"), s3po.PreconditionFailed),
        (oe.PermissionDeniedError("403"), s3po.AccessDenied),
        (oe.UnauthenticatedError("401"), s3po.AccessDenied),
        (_generic("503 Service Unavailable", "SlowDown"), s3po.Throttled),
        (_generic("500 Internal Server Error", "InternalError"), s3po.TransientError),
        (_generic("502 Bad Gateway", None), s3po.TransientError),
        (_generic("429 Too Many Requests", "TooManyRequests"), s3po.Throttled),
        (_generic("429 Too Many Requests", None), s3po.Throttled),
        (_generic("400 Bad Request", "RequestTimeout"), s3po.TransientError),
        (_generic("400 Bad Request", "BadDigest"), s3po.TransientError),
        (_generic("403 Forbidden", None), s3po.AccessDenied),
        (_generic("400 Bad Request", "InvalidArgument"), s3po.BackendError),
        (
            oe.GenericError("Generic S3 error: HTTP error: error sending request"),
            s3po.TransientError,
        ),
        (
            oe.GenericError("Generic S3 error: HTTP error: request or response body error"),
            s3po.TransientError,
        ),
        (ConnectionResetError("reset by peer"), s3po.TransientError),
        (oe.GenericError("HTTP error: invalid peer certificate: UnknownIssuer"), s3po.BackendError),
    ],
)
def test_error_table(exc: Exception, expected: type[Exception]) -> None:
    err = translate(exc, op="get", bucket="b", key="k", where="here")
    assert type(err) is expected
    assert "s3://b/k" in str(err)
    assert isinstance(err, s3po.TransferError)
    assert (err.bucket, err.key, err.backend) == ("b", "k", "obstore")
    assert "\n" not in str(err)


def _chunks(items: list[bytes | Exception]) -> Iterator[bytes]:
    for item in items:
        if isinstance(item, Exception):
            raise item
        yield item


def test_body_read_error_is_transient() -> None:
    failure = oe.GenericError("HTTP error: request or response body error")
    body = StreamBody(_chunks([b"ab", failure]), length=4, bucket="b", key="k", where="here")
    assert body.read(2) == b"ab"
    with pytest.raises(s3po.TransientError, match="s3://b/k"):
        body.read(2)
    body.close()


def test_short_body_is_transient() -> None:
    body = StreamBody(_chunks([b"ab"]), length=4, bucket="b", key="k", where="here")
    assert body.read(4) == b"ab"
    with pytest.raises(s3po.TransientError, match="early"):
        body.read(4)


def test_body_reads_across_chunks() -> None:
    body = StreamBody(_chunks([b"012", b"3456", b"789"]), length=10, bucket="b", key="k", where="")
    assert body.read(2) == b"01"
    assert body.read(5) == b"2"
    assert body.readall() == b"3456789"
    assert body.read() == b""
