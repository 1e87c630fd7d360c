"""The test credentials never show up in logs, error messages, reprs or ``--debug`` output.

Transfers run through the fault proxy so that the retry, resume, abort and give-up paths
all log and raise while DEBUG logging is captured.
"""

from __future__ import annotations

import io
import logging
import os
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
