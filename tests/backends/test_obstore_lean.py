"""The default backend's lean start: no boto3 until a call needs it, and its bodies' reads.

``import s3po`` and ``s3po.Connection(...)`` with keys and an endpoint import neither boto3,
botocore nor asyncio (checked in a fresh interpreter, where ``sys.modules`` tells); the
options resolve exactly as the S3 backend resolves them; obstore's errors are mapped in
one place, and s3po's own errors pass through it unchanged; a body's stream is not asked
again once its last byte is in (tests/backends/test_obstore.py shows its connection is
reused), whole chunks are handed over as they are, and ``copy_into`` writes them to the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import obstore
import obstore.exceptions as oe
import pytest
from s3po_obstore._errors import StreamBody
from s3po_obstore._resolve import resolve
from s3po_obstore.backend import ObstoreBackend
from s3po_s3.backend import S3Backend

import s3po

_ENV = (
    "S3PO_ENDPOINT_URL",
    "S3PO_REGION",
    "S3PO_PROFILE",
    "S3PO_ADDRESSING_STYLE",
    "S3PO_CHECKSUM",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No S3 settings from the environment, and no AWS config file."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    return monkeypatch


def _modules_after(code: str) -> set[str]:
    script = textwrap.dedent(code) + "\nimport sys\nprint(' '.join(sorted(sys.modules)))\n"
    env = {k: v for k, v in os.environ.items() if k not in _ENV}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    return set(out.stdout.split())


def test_import_and_connection_load_no_boto3_nor_asyncio() -> None:
    loaded = _modules_after(
        """
        import s3po
        conn = s3po.Connection(
            endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
            aws_access_key_id="id", aws_secret_access_key="secret",
        )
        assert conn.backend is not None
        """
    )
    assert "s3po_obstore.backend" in loaded  # the default backend was made
    assert not loaded & {"boto3", "botocore", "s3transfer", "asyncio", "s3po_s3.backend"}
    # the listing's own HTTP client and XML parser load when a listing is sent, not before
    assert not loaded & {"http.client", "xml.etree.ElementTree", "email.parser"}


def test_the_async_front_end_is_still_there() -> None:
    loaded = _modules_after("import s3po\nassert s3po.AsyncConnection and s3po.AsyncBatch")
    assert "s3po.client.aio" in loaded
    from s3po.client import AsyncBatch  # noqa: PLC0415

    assert AsyncBatch is s3po.AsyncBatch


CASES: list[dict[str, Any]] = [
    {"endpoint_url": "http://127.0.0.1:9"},
    {"endpoint_url": "http://127.0.0.1:9", "region_name": "eu-west-3"},
    {"endpoint_url": "http://127.0.0.1:9", "addressing_style": "VIRTUAL", "checksum": "MD5"},
    {"region_name": "eu-west-1"},
    {"region_name": "eu-west-1", "checksum": "when_supported", "addressing_style": "auto"},
]


@pytest.mark.parametrize("options", CASES)
@pytest.mark.parametrize(
    "env",
    [
        {},
        {"AWS_DEFAULT_REGION": "ap-south-1"},
        {"S3PO_REGION": "sa-east-1"},
        {"S3PO_CHECKSUM": "md5"},
    ],
)
def test_resolves_as_the_s3_backend_does(
    clean_env: pytest.MonkeyPatch, options: dict[str, Any], env: dict[str, str]
) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    keys: dict[str, Any] = {"aws_access_key_id": "id", "aws_secret_access_key": "secret"}
    resolved = resolve(
        endpoint_url=options.get("endpoint_url"),
        region_name=options.get("region_name"),
        profile_name=None,
        session=None,
        client=None,
        addressing_style=options.get("addressing_style"),
        checksum=options.get("checksum"),
        max_pool_connections=64,
    )
    s3 = S3Backend(**options, **keys)
    assert resolved is not None
    got = (resolved.endpoint_url, resolved.region_name, resolved.addressing_style)
    assert (*got, resolved.checksum) == (
        s3.endpoint_url,
        s3.region_name,
        s3.addressing_style,
        s3.checksum,
    )
    backend = ObstoreBackend(**options, **keys)
    assert backend._s3 is None  # resolved without boto3
    assert (backend.region_name, backend.checksum) == (s3.region_name, s3.checksum)
    s3.close()
    backend.close()


@pytest.mark.parametrize(
    "env",
    [{"AWS_PROFILE": "somebody"}, {"S3PO_PROFILE": "somebody"}, {}],
)
def test_boto3_resolves_what_needs_it(clean_env: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """A profile or no region at all: the S3 backend is made at once."""
    options: dict[str, Any] = {} if not env else {"endpoint_url": "http://127.0.0.1:9"}
    for name, value in env.items():
        clean_env.setenv(name, value)
    keys: dict[str, Any] = {"aws_access_key_id": "id", "aws_secret_access_key": "secret"}
    try:
        backend = ObstoreBackend(**options, **keys)
    except s3po.ConfigError as exc:  # the profile does not exist: boto3 says so, as before
        assert "profile" in str(exc).lower()  # noqa: PT017
        return
    assert backend._s3 is not None
    backend.close()


@pytest.mark.parametrize("where", ["config", "credentials"])
def test_the_default_profiles_region_needs_no_boto3(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, where: str
) -> None:
    """``region`` in the default profile is read as botocore reads it, without boto3."""
    (tmp_path / f"no-{where}").write_text("[default]\nregion = eu-north-1\n")
    keys: dict[str, Any] = {"aws_access_key_id": "id", "aws_secret_access_key": "secret"}
    backend = ObstoreBackend(**keys)
    s3 = S3Backend(**keys)
    try:
        assert backend._s3 is None
        assert backend.region_name == s3.region_name == "eu-north-1"
    finally:
        s3.close()
        backend.close()
    clean_env.setenv("AWS_PROFILE", "default")
    backend = ObstoreBackend(**keys)
    assert backend._s3 is not None  # a profile named: boto3 reads it
    backend.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"addressing_style": "sideways"}, "addressing_style"),
        ({"checksum": "sha1"}, "checksum"),
        ({"max_pool_connections": 0}, "max_pool_connections"),
    ],
)
def test_bad_options_raise_what_the_s3_backend_raises(
    clean_env: pytest.MonkeyPatch, options: dict[str, Any], message: str
) -> None:
    del clean_env
    keys: dict[str, Any] = {"aws_access_key_id": "id", "aws_secret_access_key": "secret"}
    with pytest.raises(s3po.ConfigError, match=message) as fast:
        ObstoreBackend(endpoint_url="http://127.0.0.1:9", **options, **keys)
    with pytest.raises(s3po.ConfigError) as slow:
        S3Backend(endpoint_url="http://127.0.0.1:9", **options, **keys)
    assert str(fast.value) == str(slow.value)


@pytest.mark.parametrize("op", ["get", "delete"])
def test_s3po_errors_pass_through_the_edge(monkeypatch: pytest.MonkeyPatch, op: str) -> None:
    """An s3po error raised at the edge is kept as it is; obstore's become s3po's."""
    backend = ObstoreBackend(
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="id",
        aws_secret_access_key="secret",  # noqa: S106
    )
    refused = s3po.ConfigError("obstore refused the options")
    raised: list[BaseException] = [refused]

    def edge(*_args: object, **_kwargs: object) -> None:
        raise raised[0]

    monkeypatch.setattr(obstore, op, edge)
    call = getattr(backend, op)
    with pytest.raises(s3po.ConfigError) as caught:
        call("b", "k")
    assert caught.value is refused
    raised[0] = oe.NotFoundError("status code: 404 <Code>NoSuchKey</Code>")
    with pytest.raises(s3po.NoSuchKey) as mapped:
        call("b", "k")
    assert isinstance(mapped.value.__cause__, oe.NotFoundError)
    backend.close()


class _Chunks:
    """An iterator over chunks that counts how often it was asked."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self.calls = 0
        self.ended = False

    def __iter__(self) -> _Chunks:
        return self

    def __next__(self) -> bytes:
        self.calls += 1
        try:
            return next(self._chunks)
        except StopIteration:
            self.ended = True
            raise


def test_the_stream_is_not_asked_again_after_the_last_byte() -> None:
    """Once the framed length is in, the body has ended: no more trips to the runtime."""
    chunks = _Chunks([b"0123", b"4567"])
    body = StreamBody(chunks, length=8, bucket="b", key="k", where="")
    assert body.read(4) == b"0123"
    assert body.read(100) == b"4567"
    assert body.read(1) == b""
    assert chunks.calls == 2
    assert not chunks.ended
    body.close()


def test_whole_chunks_are_handed_over_without_a_copy() -> None:
    chunk = b"x" * 4096
    body = StreamBody(iter([chunk, b"tail"]), length=4100, bucket="b", key="k", where="")
    assert body.read(1 << 20) is chunk
    assert body.read(2) == b"ta"
    assert body.read(-1) == b"il"


def test_copy_into_writes_each_chunk_at_its_offset(tmp_path: Path) -> None:
    path = tmp_path / "out"
    body = StreamBody(iter([b"abc", b"defg", b"hi"]), length=9, bucket="b", key="k", where="")
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        offset = 3
        while n := body.copy_into(fd, offset, 2):
            offset += n
    finally:
        os.close(fd)
    assert path.read_bytes() == b"\0\0\0abcdefghi"


def test_a_body_cut_off_in_copy_into_is_transient(tmp_path: Path) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"ab"
        raise oe.GenericError("HTTP error: request or response body error")

    body = StreamBody(chunks(), length=4, bucket="b", key="k", where="here")
    fd = os.open(tmp_path / "out", os.O_RDWR | os.O_CREAT)
    try:
        assert body.copy_into(fd, 0, 4) == 2
        with pytest.raises(s3po.TransientError, match="cut off") as caught:
            body.copy_into(fd, 2, 2)
    finally:
        os.close(fd)
    assert isinstance(caught.value.__cause__, oe.GenericError)
