"""Every way botocore fails reaches the caller of the s3 backend as a typed s3po error.

Each test forces one failure class on the wire (moto, a closed port, a socket that never
accepts, a TLS handshake with a plain-HTTP server, the fault proxy, a server answering
garbage) and checks the error's type, its context (bucket, key, backend) and that the
message names the object. The translation table itself is unit-tested in
``tests/backends/test_s3.py``; here it is the backend's one error edge that is tested.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from s3po_s3.backend import S3Backend

import s3po
from s3po.backend import Headers

#: Timeouts for the tests that wait for one: below the proxy's stall (2.5 s), above moto's
#: answers on a loaded machine.
FAST = {"connect_timeout": 1.0, "read_timeout": 1.0}


@pytest.fixture
def moto_bucket(moto_server: Any) -> str:
    """A bucket on moto holding ``k`` (b"hello")."""
    bucket = f"s3po-edge-{uuid.uuid4().hex[:12]}"
    moto_server.admin.create_bucket(Bucket=bucket)
    moto_server.admin.put_object(Bucket=bucket, Key="k", Body=b"hello")
    return bucket


@contextlib.contextmanager
def _s3(server: Any, **options: Any) -> Iterator[S3Backend]:
    """An S3Backend for ``server``, with ``options`` overriding its own; closed afterwards."""
    backend = S3Backend(**{**server.options(), **options})
    try:
        yield backend
    finally:
        backend.close()


def _assert_context(err: s3po.TransferError, bucket: str, key: str | None) -> None:
    assert (err.bucket, err.key, err.backend) == (bucket, key, "s3")
    assert (f"s3://{bucket}/{key}" if key else f"s3://{bucket}") in str(err)


def test_a_client_error_from_the_server_is_typed(moto_server: Any, moto_bucket: str) -> None:
    """ClientError (NoSuchKey, NoSuchBucket, NoSuchUpload) from moto itself."""
    with _s3(moto_server) as backend:
        with pytest.raises(s3po.NoSuchKey) as key_missing:
            backend.get(moto_bucket, "missing")
        _assert_context(key_missing.value, moto_bucket, "missing")
        with pytest.raises(s3po.NoSuchBucket) as bucket_missing:
            list(backend.list(moto_bucket + "-gone"))
        _assert_context(bucket_missing.value, moto_bucket + "-gone", None)
        with pytest.raises(s3po.NoSuchUpload):
            backend.abort_multipart(moto_bucket, "k", "no-such-upload")


def test_a_throttled_request_is_transient(
    moto_server: Any, moto_proxy: Any, moto_bucket: str
) -> None:
    """ClientError with a 503 SlowDown, injected by the fault proxy."""
    moto_proxy.inject("slowdown", operation="PutObject")
    with (
        _s3(moto_server, endpoint_url=moto_proxy.url) as backend,
        pytest.raises(s3po.TransientError, match="SlowDown") as caught,
    ):
        backend.put(moto_bucket, "p", b"abc", headers=Headers())
    _assert_context(caught.value, moto_bucket, "p")
    assert "p" not in {
        o["Key"] for o in moto_server.admin.list_objects_v2(Bucket=moto_bucket).get("Contents", ())
    }


def test_a_closed_port_is_transient(moto_server: Any) -> None:
    """EndpointConnectionError: nothing listens on the port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        _s3(moto_server, endpoint_url=f"http://127.0.0.1:{port}") as backend,
        pytest.raises(s3po.TransientError, match="EndpointConnectionError") as caught,
    ):
        backend.head("bucket", "k")
    _assert_context(caught.value, "bucket", "k")
    assert type(caught.value.__cause__).__name__ == "EndpointConnectionError"


def test_a_connection_reset_is_transient(
    moto_server: Any, moto_proxy: Any, moto_bucket: str
) -> None:
    """ConnectionClosedError: the proxy resets the connection before forwarding."""
    moto_proxy.inject("reset_before", operation="HeadObject")
    with (
        _s3(moto_server, endpoint_url=moto_proxy.url) as backend,
        pytest.raises(s3po.TransientError, match="ConnectionClosedError") as caught,
    ):
        backend.head(moto_bucket, "k")
    _assert_context(caught.value, moto_bucket, "k")


def test_a_silent_server_is_a_transient_read_timeout(
    moto_server: Any, moto_proxy: Any, moto_bucket: str
) -> None:
    """ReadTimeoutError: the proxy stalls the answer past the read timeout."""
    moto_proxy.inject("stall", operation="ListObjects")
    with (
        _s3(moto_server, endpoint_url=moto_proxy.url, **FAST) as backend,
        pytest.raises(s3po.TransientError, match="ReadTimeoutError") as caught,
    ):
        list(backend.list(moto_bucket, "pre/"))
    _assert_context(caught.value, moto_bucket, "pre/")


def test_a_socket_that_never_accepts_is_a_transient_connect_timeout(moto_server: Any) -> None:
    """ConnectTimeoutError: the listen backlog is full, so the handshake never completes."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(4):  # fill the backlog; later SYNs are dropped
                filler = socket.socket()
                filler.setblocking(False)  # noqa: FBT003 - socket API
                with contextlib.suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", port))
                fillers.append(filler)
            with (
                _s3(moto_server, endpoint_url=f"http://127.0.0.1:{port}", **FAST) as backend,
                pytest.raises(s3po.TransientError) as caught,
            ):
                backend.head("bucket", "k")
        finally:
            for filler in fillers:
                filler.close()
    _assert_context(caught.value, "bucket", "k")
    assert type(caught.value.__cause__).__name__ in {"ConnectTimeoutError", "ReadTimeoutError"}


def test_tls_to_a_plain_http_server_is_a_backend_error_not_retried(moto_server: Any) -> None:
    """SSLError: https:// to moto's plain-HTTP port fails the handshake."""
    url = moto_server.endpoint_url.replace("http://", "https://")
    with (
        _s3(moto_server, endpoint_url=url) as backend,
        pytest.raises(s3po.BackendError, match="TLS") as caught,
    ):
        backend.head("bucket", "k")
    assert not isinstance(caught.value, s3po.TransientError)
    _assert_context(caught.value, "bucket", "k")


def test_no_credentials_is_access_denied(
    moto_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """NoCredentialsError: no keys anywhere in boto3's chain."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    options = {"endpoint_url": moto_server.endpoint_url, "region_name": moto_server.region}
    with (
        contextlib.closing(S3Backend(**options)) as backend,
        pytest.raises(s3po.AccessDenied, match="AWS_ACCESS_KEY_ID") as caught,
    ):
        backend.head("bucket", "k")
    _assert_context(caught.value, "bucket", "k")


def test_a_request_boto3_refuses_is_invalid_and_names_the_object(
    moto_server: Any, moto_bucket: str
) -> None:
    """ParamValidationError: botocore refuses an empty key before sending anything."""
    with (
        _s3(moto_server) as backend,
        pytest.raises(s3po.InvalidRequest, match="boto3 refused") as caught,
    ):
        backend.head(moto_bucket, "")
    assert f"s3://{moto_bucket}" in str(caught.value)
    assert "parameter Key" in str(caught.value)


def test_a_cut_off_body_is_transient(moto_server: Any, moto_proxy: Any, moto_bucket: str) -> None:
    """A GetObject body cut short by the proxy (urllib3's ProtocolError, read later)."""
    moto_server.admin.put_object(Bucket=moto_bucket, Key="big", Body=b"x" * 100_000)
    moto_proxy.inject("truncate", operation="GetObject")
    with _s3(moto_server, endpoint_url=moto_proxy.url) as backend:
        result = backend.get(moto_bucket, "big")
        with result.body, pytest.raises(s3po.TransientError, match=r"cut off|early") as caught:
            _drain(result.body)
    assert (caught.value.bucket, caught.value.key) == (moto_bucket, "big")


def _drain(body: Any) -> None:
    while body.read(65536):
        pass


class _Garbage(http.server.BaseHTTPRequestHandler):
    """Answers every request 200 with a body that is not XML."""

    def _answer(self) -> None:
        body = b"<ListBucketResult><Contents><Key>half"
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = _answer  # noqa: N815 - http.server's names

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@pytest.fixture
def garbage_url() -> Iterator[str]:
    """The URL of a server that answers 200 with an unparseable body."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_an_unparseable_answer_is_transient(moto_server: Any, garbage_url: str) -> None:
    """A 200 whose XML botocore cannot parse: botocore makes it a bodiless 500 ClientError."""
    with (
        _s3(moto_server, endpoint_url=garbage_url) as backend,
        pytest.raises(s3po.TransientError) as caught,
    ):
        list(backend.list("bucket"))
    assert "500" in str(caught.value)
    _assert_context(caught.value, "bucket", None)
