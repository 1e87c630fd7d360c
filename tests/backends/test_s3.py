"""The S3 backend: the backend contract against moto and SeaweedFS, and its own rules."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

import botocore.exceptions as bce
import pytest
import urllib3.exceptions
from s3po_s3._errors import StreamBody, s3_errors, translate
from s3po_s3.backend import S3Backend

import s3po
from s3po.backend import ALL_CONDITIONS
from s3po.testing import BackendContract

#: What each server honours, as measured (docs/s3-compatible.md): moto 5.2 ignores If-Match on
#: CompleteMultipartUpload (it completes over any version), so it is not declared there and
#: the contract checks the refusal instead.
SERVER_CONDITIONS = {
    "moto": ALL_CONDITIONS - {"complete-if-match"},
    "seaweedfs": ALL_CONDITIONS,
}


@pytest.mark.integration
class TestS3Contract(BackendContract):
    @pytest.fixture
    def backend(self, s3_server: Any) -> Iterator[S3Backend]:
        # A shared session makes each test's client cheap; the options path is tested below
        # and in tests/integration.
        backend = S3Backend(
            endpoint_url=s3_server.endpoint_url,
            session=s3_server.session,
            conditions=SERVER_CONDITIONS[s3_server.name],
        )
        yield backend
        backend.close()

    @pytest.fixture
    def bucket(self, s3_bucket: str) -> str:
        return s3_bucket


# -- options ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("ENDPOINT_URL", "REGION", "PROFILE", "ADDRESSING_STYLE", "CHECKSUM"):
        monkeypatch.delenv(f"S3PO_{name}", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # boto3's endpoint settings
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)


def _config(backend: S3Backend) -> Any:
    return backend.client.meta.config


def test_defaults_with_endpoint() -> None:
    backend = S3Backend(
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="a",
        aws_secret_access_key="b",  # noqa: S106
    )
    config = _config(backend)
    assert backend.name == "s3"
    assert backend.capabilities.min_part_size == 5 * 1024 * 1024
    assert backend.capabilities.max_parts == 10_000
    assert backend.region_name == "us-east-1"
    assert config.s3["addressing_style"] == "path"
    assert config.retries["total_max_attempts"] == 1
    assert config.max_pool_connections == 64
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"
    assert backend.checksum == "crc32"


def test_options_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3PO_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("S3PO_REGION", "eu-west-3")
    monkeypatch.setenv("S3PO_ADDRESSING_STYLE", "virtual")
    monkeypatch.setenv("S3PO_CHECKSUM", "when_supported")
    backend = S3Backend(aws_access_key_id="a", aws_secret_access_key="b")  # noqa: S106
    config = _config(backend)
    assert backend.endpoint_url == "http://127.0.0.1:9"
    assert backend.region_name == "eu-west-3"
    assert config.s3["addressing_style"] == "virtual"
    assert config.request_checksum_calculation == "when_supported"
    assert backend.checksum == "when_supported"


def test_arguments_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3PO_ENDPOINT_URL", "http://127.0.0.1:9")
    backend = S3Backend(endpoint_url="http://127.0.0.1:10", max_pool_connections=3)
    assert backend.endpoint_url == "http://127.0.0.1:10"
    assert _config(backend).max_pool_connections == 3


@pytest.mark.parametrize(
    "options",
    [
        {"addressing_style": "sideways"},
        {"checksum": "always"},
        {"max_pool_connections": 0},
        {"profile_name": "s3po-no-such-profile"},
        {"client": object(), "endpoint_url": "http://x"},
        {"session": object(), "aws_access_key_id": "a"},
    ],
)
def test_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(s3po.ConfigError):
        S3Backend(**options)


def test_ready_client_is_used_and_left_open() -> None:
    owner = S3Backend(endpoint_url="http://127.0.0.1:9")
    backend = S3Backend(client=owner.client)
    assert backend.client is owner.client
    assert backend.endpoint_url == "http://127.0.0.1:9"
    backend.close()
    owner.close()


def test_repr_hides_credentials() -> None:
    backend = S3Backend(
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="AKIDSECRETISH",
        aws_secret_access_key="very-secret-value",  # noqa: S106
    )
    assert "very-secret-value" not in repr(backend)
    assert "AKIDSECRETISH" not in repr(backend)
    assert "127.0.0.1:9" in repr(backend)


def test_registered_as_s3(registries: s3po.Registries) -> None:
    backend = registries.backends.create("s3", endpoint_url="http://127.0.0.1:9")
    assert isinstance(backend, S3Backend)


def test_reserved_extra_refused() -> None:
    backend = S3Backend(endpoint_url="http://127.0.0.1:9")
    with pytest.raises(s3po.InvalidRequest, match="Bucket"):
        backend.put("b", "k", b"x", headers=s3po.Headers(extra={"Bucket": "other"}))


# -- error translation ----------------------------------------------------------------------


def _client_error(code: str | None, status: int, op: str = "GetObject") -> bce.ClientError:
    error = {"Code": code, "Message": "server says no"} if code else {}
    response: Any = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}
    return bce.ClientError(response, op)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("NoSuchKey", 404, s3po.NoSuchKey),
        ("NoSuchBucket", 404, s3po.NoSuchBucket),
        ("NoSuchUpload", 404, s3po.NoSuchUpload),
        ("AccessDenied", 403, s3po.AccessDenied),
        ("InvalidAccessKeyId", 403, s3po.AccessDenied),
        ("SignatureDoesNotMatch", 403, s3po.AccessDenied),
        (None, 403, s3po.AccessDenied),
        ("PreconditionFailed", 412, s3po.PreconditionFailed),
        (None, 412, s3po.PreconditionFailed),
        ("EntityTooSmall", 400, s3po.InvalidPart),
        ("InvalidPart", 400, s3po.InvalidPart),
        ("InvalidPartOrder", 400, s3po.InvalidPart),
        ("SlowDown", 503, s3po.Throttled),
        ("InternalError", 500, s3po.TransientError),
        ("RequestTimeout", 400, s3po.TransientError),
        ("ThrottlingException", 400, s3po.Throttled),
        ("BadDigest", 400, s3po.TransientError),
        (None, 500, s3po.TransientError),
        (None, 502, s3po.TransientError),
        (None, 503, s3po.Throttled),
        (None, 504, s3po.TransientError),
        (None, 429, s3po.Throttled),
        ("Teapot", 599, s3po.TransientError),
        ("RequestTimeTooSkewed", 403, s3po.AccessDenied),
        ("InvalidArgument", 400, s3po.BackendError),
    ],
)
def test_error_table(code: str | None, status: int, expected: type[Exception]) -> None:
    err = translate(_client_error(code, status), op="get", bucket="b", key="k", where="here")
    assert type(err) is expected
    assert "s3://b/k" in str(err)
    assert isinstance(err, s3po.TransferError)
    assert (err.bucket, err.key, err.backend) == ("b", "k", "s3")


def test_bare_404_without_key_is_the_bucket() -> None:
    err = translate(_client_error(None, 404), op="list", bucket="b", where="here")
    assert type(err) is s3po.NoSuchBucket


@pytest.mark.parametrize(
    "exc",
    [
        bce.EndpointConnectionError(endpoint_url="http://x"),
        bce.ConnectionClosedError(endpoint_url="http://x"),
        bce.ReadTimeoutError(endpoint_url="http://x"),
        bce.ConnectTimeoutError(endpoint_url="http://x"),
    ],
)
def test_transport_errors_are_transient(exc: Exception) -> None:
    err = translate(exc, op="put", bucket="b", key="k", where="http://x")
    assert type(err) is s3po.TransientError


def test_missing_credentials_are_access_denied() -> None:
    err = translate(bce.NoCredentialsError(), op="put", bucket="b", key="k", where="AWS S3")
    assert type(err) is s3po.AccessDenied
    assert "AWS_ACCESS_KEY_ID" in str(err)


# -- the error edge (s3_errors): the unit side; tests/reliability/test_s3_error_edge.py forces
# each failure on the wire.


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (bce.ReadTimeoutError(endpoint_url="http://x"), s3po.TransientError),
        (bce.ParamValidationError(report="bad Key"), s3po.InvalidRequest),
        (
            bce.ChecksumError(checksum_type="crc32", expected_checksum="a", actual_checksum="b"),
            s3po.BackendError,
        ),
        # Past botocore, unwrapped: urllib3 and http.client while a response is read, sockets.
        (urllib3.exceptions.ProtocolError("Connection broken"), s3po.TransientError),
        (http.client.IncompleteRead(b"ab", 2), s3po.TransientError),
        (ConnectionResetError(104, "reset"), s3po.TransientError),
        (urllib3.exceptions.LocationParseError("x"), s3po.BackendError),
    ],
)
def test_the_edge_types_every_failure_of_the_http_stack(
    raised: Exception, expected: type[Exception]
) -> None:
    with pytest.raises(s3po.S3poError) as caught, s3_errors("get", "b", "k", where="here"):
        raise raised
    assert type(caught.value) is expected
    assert caught.value.__cause__ is raised
    assert "s3://b/k" in str(caught.value)


def test_the_edge_passes_s3po_errors_and_bugs_through_unchanged() -> None:
    own = s3po.NoSuchKey("gone", bucket="b", key="k", backend="s3")
    with pytest.raises(s3po.NoSuchKey) as caught, s3_errors("get", "b", "k", where="here"):
        raise own
    assert caught.value is own
    with pytest.raises(KeyError), s3_errors("get", "b", "k", where="here"):  # a bug stays one
        raise KeyError("ContentLength")


class _Stream:
    """Hands out its chunks, at most ``n`` bytes at a time; an exception is raised."""

    def __init__(self, chunks: list[bytes | Exception]) -> None:
        self.chunks = chunks
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        item = self.chunks.pop(0) if self.chunks else b""
        if isinstance(item, Exception):
            raise item
        if 0 <= n < len(item):
            self.chunks.insert(0, item[n:])
            item = item[:n]
        return item

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    "exc",
    [
        urllib3.exceptions.ProtocolError("reset"),
        urllib3.exceptions.ReadTimeoutError(None, "/", "slow"),  # type: ignore[arg-type]
        bce.IncompleteReadError(actual_bytes=1, expected_bytes=4),
        bce.ResponseStreamingError(error="gone"),
        ConnectionResetError("reset by peer"),
    ],
)
def test_body_read_errors_are_transient(exc: Exception) -> None:
    stream = _Stream([b"ab", exc])
    body = StreamBody(stream, length=4, bucket="b", key="k", where="here")  # type: ignore[arg-type]
    assert body.read(2) == b"ab"
    with pytest.raises(s3po.TransientError, match="s3://b/k"):
        body.read(2)
    body.close()
    assert stream.closed


def test_short_body_is_transient() -> None:
    body = StreamBody(_Stream([b"ab"]), length=4, bucket="b", key="k", where="here")  # type: ignore[arg-type]
    assert body.read(4) == b"ab"
    with pytest.raises(s3po.TransientError, match="early"):
        body.read(4)


def test_body_skips_unranged_prefix() -> None:
    stream = _Stream([b"0123", b"4567", b"89"])
    body = StreamBody(stream, length=3, skip=5, bucket="b", key="k", where="here")  # type: ignore[arg-type]
    assert body.readall() == b"567"
