"""The default backend (obstore, boto3 behind it) keeps the promises of the ``s3`` backend.

Against real servers (moto and SeaweedFS): ``Connection()`` with no backend named is the
obstore backend and ``"s3"`` still names boto3 alone; a retried PUT of a file sends the
whole file again; and the cases obstore cannot serve with S3's exact semantics
(``checksum="md5"``, a ready boto3 client) go through boto3. A file that changes while it
is uploaded is tested on both backends in test_changing_source.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import obstore
import pytest
from s3po_obstore.backend import ObstoreBackend
from s3po_reliability import MIB, PARTS, data, open_uploads, stored_keys  # type: ignore[import-not-found]

import s3po
from s3po.connection import default_backend
from s3po.plugins import BackendRegistry

pytestmark = pytest.mark.integration

SMALL = 1 * MIB + 7
BIG = 11 * MIB  # three parts of 5 MiB


def _connection(server: Any, backend: s3po.Backend | None = None, **config: Any) -> s3po.Connection:
    cfg = s3po.TransferConfig(chunk=PARTS, retry=s3po.RetryConfig(retries=1, base=0.01), **config)
    return s3po.Connection(
        backend if backend is not None else ObstoreBackend(**server.options()), config=cfg
    )


def _nothing_left(server: Any, bucket: str, kept: dict[str, bytes]) -> None:
    assert open_uploads(server, bucket) == []
    assert stored_keys(server, bucket) == set(kept)
    for key, body in kept.items():
        assert server.admin.get_object(Bucket=bucket, Key=key)["Body"].read() == body


# -- which backend a Connection gets --------------------------------------------------------


def _environment(server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("S3PO_BACKEND", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("S3PO_ENDPOINT_URL", server.endpoint_url)
    monkeypatch.setenv("S3PO_REGION", server.region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)


def test_the_default_is_obstore_and_names_still_win(
    s3_server: Any, bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _environment(s3_server, monkeypatch, tmp_path)
    with s3po.Connection() as conn:
        assert conn.backend.name == "obstore"
        conn.upload_string(bucket, "env.txt", "from the environment")
        assert conn.download_string(bucket, "env.txt") == "from the environment"
    with s3po.Connection("s3") as conn:
        assert conn.backend.name == "s3"
        assert conn.download_string(bucket, "env.txt") == "from the environment"
    monkeypatch.setenv("S3PO_BACKEND", "s3")
    with s3po.Connection() as conn:
        assert conn.backend.name == "s3"


def test_without_the_obstore_plugin_the_default_is_s3() -> None:
    class Only:
        backends = BackendRegistry()

    Only.backends.register("s3", "s3po_s3.backend:S3Backend")
    assert default_backend(Only()) == "s3"  # type: ignore[arg-type]
    assert default_backend(s3po.Registries()) == "obstore"


# -- retries and the cases that go through boto3 ---------------------------------------------


def test_a_retried_put_of_a_file_sends_it_whole(
    s3_server: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(data(SMALL, 4))
    real = obstore.put
    calls: list[int] = []

    def flaky(store: Any, key: str, body: Any, **kw: Any) -> Any:
        calls.append(memoryview(body).nbytes)
        if len(calls) == 1:
            raise ConnectionResetError("connection reset by peer")
        return real(store, key, body, **kw)

    monkeypatch.setattr(obstore, "put", flaky)
    with _connection(s3_server) as conn:
        conn.upload_file(bucket, "f.bin", path)
    assert calls == [SMALL, SMALL]
    assert s3_server.admin.get_object(Bucket=bucket, Key="f.bin")["Body"].read() == data(SMALL, 4)


def _no_obstore(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    def refuse(*args: Any, **kw: Any) -> Any:  # noqa: ARG001
        pytest.fail("this call must go through boto3")

    for name in names or ("get", "put", "delete"):
        monkeypatch.setattr(obstore, name, refuse)


def test_md5_puts_go_through_boto3_with_content_md5(
    s3_server: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ObstoreBackend(**s3_server.options(), checksum="md5")
    sent: list[str] = []
    backend.s3.client.meta.events.register(
        "before-send.s3.PutObject",
        lambda request, **_: sent.append(request.headers.get("Content-MD5", "")),
    )
    _no_obstore(monkeypatch, "put")
    with _connection(s3_server, backend) as conn:
        conn.upload_string(bucket, "m.txt", "checked by MD5")
        assert conn.download_string(bucket, "m.txt") == "checked by MD5"
    assert len(sent) == 1
    assert sent[0]


def test_a_ready_client_serves_every_call(
    s3_server: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = s3_server.admin
    _no_obstore(monkeypatch)
    with _connection(s3_server, ObstoreBackend(client=client)) as conn:
        conn.upload_string(bucket, "c.txt", "through the client")
        assert conn.download_string(bucket, "c.txt") == "through the client"
        conn.delete(bucket, "c.txt")
        with pytest.raises(s3po.NoSuchKey):
            conn.download_string(bucket, "c.txt")


# -- start-up: boto3's client is made only for a call that needs it ---------------------------


def test_gets_puts_and_lists_make_no_boto3_client(s3_server: Any, bucket: str) -> None:
    backend = ObstoreBackend(**s3_server.options())
    with _connection(s3_server, backend) as conn:
        conn.upload_string(bucket, "lazy.txt", "no botocore model loaded")
        assert conn.download_string(bucket, "lazy.txt") == "no botocore model loaded"
        assert conn.list_names(bucket) == ["lazy.txt"]  # LIST is signed without boto3 too
        assert backend.s3._made is None
        assert conn.head(bucket, "lazy.txt").size == 24  # HEAD is boto3's: made now
        assert backend.s3._made is not None
        conn.delete(bucket, "lazy.txt")


def test_options_boto3_refuses_are_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("S3PO_ENDPOINT_URL", raising=False)
    keys: dict[str, Any] = {"aws_access_key_id": "id", "aws_secret_access_key": "not a secret"}
    conn = s3po.Connection("s3", endpoint_url="not a url", region_name="us-east-1", **keys)
    with conn, pytest.raises(s3po.ConfigError, match="boto3 refused"):
        conn.head("bucket", "key")


def test_the_boto3_client_is_reachable_as_on_the_s3_backend(s3_server: Any, bucket: str) -> None:
    with _connection(s3_server) as conn:
        conn.upload_string(bucket, "k.txt", "seen by any S3 client")
        backend: Any = conn.backend
        while not isinstance(backend, ObstoreBackend):
            backend = backend.inner
        response = backend.client.get_object(Bucket=bucket, Key="k.txt")
        assert response["Body"].read() == b"seen by any S3 client"
        assert backend.checksum == "crc32"
