"""The test credentials never show up in logs, error messages, reprs or ``--debug`` output.

Transfers run through the fault proxy so that the retry, resume, abort and give-up paths
all log and raise while DEBUG logging is captured.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from s3po_reliability import MIB, connect, data, faults  # type: ignore[import-not-found]

import s3po

#: The credentials are the same on every server; moto is enough.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("s3_server", ["moto"], indirect=True),
]


def _failure_texts(exc: BaseException) -> list[str]:
    """What a user can see of an exception: its chain, formatted, and each link's repr."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        texts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return texts


def test_keys_stay_out_of_logs_errors_and_reprs(
    s3_server: Any, bucket: str, proxy: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # s3po, botocore and urllib3 at DEBUG
    seen: list[str] = []
    proxy.configure(faults.FaultPlan(seed=5, rate=0.3))
    with connect(s3_server, proxy, retries=8) as conn:
        seen += [repr(conn), str(conn), repr(conn.backend), repr(conn.transfer), repr(conn.config)]
        conn.upload_fileobj(bucket, "big.bin", io.BytesIO(data(6 * MIB, 1)), compress="zstd")
        conn.upload_string(bucket, "small.txt", "hello")
        assert conn.download_bytes(bucket, "big.bin") == data(6 * MIB, 1)
        calls: tuple[Callable[[], object], ...] = (
            lambda: conn.download_bytes(bucket, "missing"),
            lambda: conn.upload_string("no-such-bucket-s3po", "k", "v"),
        )
        for call in calls:
            with pytest.raises(s3po.S3poError) as caught:
                call()
            seen += _failure_texts(caught.value)
        proxy.configure(faults.FaultPlan(rate=1.0, operations=frozenset({"UploadPart"})))
        with pytest.raises(s3po.RetriesExhausted) as exhausted:
            conn.upload_fileobj(bucket, "gone.bin", io.BytesIO(data(6 * MIB, 2)), retries=1)
        seen += _failure_texts(exhausted.value)
    assert proxy.faults()

    ours = [r for r in caplog.records if r.name.startswith("s3po")]
    assert ours  # the retry and abort paths did log
    seen += [caplog.handler.format(r) for r in ours]
    for text in seen:
        assert s3_server.secret_key not in text
        assert s3_server.access_key not in text
    # botocore's own DEBUG lines carry the Authorization header (access key id and the
    # signature), never the secret key.
    assert s3_server.secret_key not in caplog.text


def _cli(server: Any, proxy: Any, tmp_path: Path, *args: str) -> str:
    script = shutil.which("s3po", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "s3po.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3PO_", "AWS_"))}
    env.update(
        AWS_ACCESS_KEY_ID=server.access_key,
        AWS_SECRET_ACCESS_KEY=server.secret_key,
        AWS_DEFAULT_REGION=server.region,
    )
    result = subprocess.run(
        [*command, "--debug", "--endpoint-url", proxy.url, *args],
        capture_output=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    return (result.stdout + result.stderr).decode(errors="replace")


def test_cli_debug_output_never_shows_the_secret_key(
    s3_server: Any, bucket: str, proxy: Any, tmp_path: Path
) -> None:
    source = tmp_path / "file.bin"
    source.write_bytes(data(300 * 1024, 3))
    proxy.configure(faults.FaultPlan(seed=6, rate=0.3))
    out = _cli(s3_server, proxy, tmp_path, "--retries", "8", "cp", "file.bin", f"s3://{bucket}/f")
    out += _cli(s3_server, proxy, tmp_path, "--retries", "8", "cp", f"s3://{bucket}/f", "back")
    assert (tmp_path / "back").read_bytes() == source.read_bytes()
    proxy.configure(faults.FaultPlan(rate=1.0, kinds=("slowdown",)))
    failed = _cli(
        s3_server, proxy, tmp_path, "--retries", "1", "cp", "file.bin", f"s3://{bucket}/g"
    )
    assert "failed after 2 attempt" in failed
    for text in (out, failed):
        assert "DEBUG" in text
        assert s3_server.secret_key not in text


def test_cli_debug_output_never_shows_the_access_key_id(
    s3_server: Any, bucket: str, proxy: Any, tmp_path: Path
) -> None:
    assert s3_server.access_key not in _cli(s3_server, proxy, tmp_path, "ls", f"s3://{bucket}/")


# -- pickling: the recipe travels, the keys stay home ---------------------------------------

_TOKEN = "s3po-test-session-token-FwoGZXIvYXdzEBYaD"  # noqa: S105 - a test value


def _keyed(server: Any, **extra: Any) -> s3po.Connection:
    return s3po.Connection(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        aws_session_token=_TOKEN,
        **extra,
    )


def _no_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing to resolve credentials from: no environment, no profile files."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_a_pickled_connection_carries_no_credentials(
    s3_server: Any, bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_aws_env(monkeypatch, tmp_path)
    with _keyed(s3_server) as conn:
        conn.upload_string(bucket, "k", "made with explicit keys")
        blob = pickle.dumps(conn)
    for secret in (s3_server.access_key, s3_server.secret_key, _TOKEN):
        assert secret.encode() not in blob
    # Where it lands, the standard chain finds the worker's own credentials.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    with pickle.loads(blob) as copy:  # noqa: S301 - our own pickle
        assert copy.download_string(bucket, "k") == "made with explicit keys"
        copy.upload_string(bucket, "from-worker", "ok")
    assert s3_server.admin.get_object(Bucket=bucket, Key="from-worker")["Body"].read() == b"ok"


def test_without_credentials_where_it_lands_the_copy_says_so(
    s3_server: Any, bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_aws_env(monkeypatch, tmp_path)
    with _keyed(s3_server) as conn:
        blob = pickle.dumps(conn)
    with pickle.loads(blob) as copy, pytest.raises(s3po.AccessDenied, match="credentials"):  # noqa: S301
        copy.upload_string(bucket, "k", "v")


def test_pickle_credentials_opts_in_to_shipping_the_keys(
    s3_server: Any, bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_aws_env(monkeypatch, tmp_path)
    with _keyed(s3_server, pickle_credentials=True) as conn:
        blob = pickle.dumps(conn)
    for secret in (s3_server.access_key, s3_server.secret_key, _TOKEN):
        assert secret.encode() in blob
    with pickle.loads(blob) as copy:  # noqa: S301 - our own pickle
        assert copy.pickle_credentials
        copy.upload_string(bucket, "shipped", "keys travelled")
        assert copy.download_string(bucket, "shipped") == "keys travelled"
        assert s3_server.secret_key not in repr(copy)
