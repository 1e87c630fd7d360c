"""Ctrl-C (a real SIGINT) to ``s3po cp`` mid-transfer, with ``--resume`` and without.

The console script copies a 10 MiB file (three parts of 5 MiB, the last one byte) to moto
through the fault proxy, or the object back; the second part (or range) stalls at the proxy
for half a second, and the process gets SIGINT meanwhile. It exits with status 130 either way.

- With ``--resume`` the multipart upload stays open with its journal (the download keeps its
  partial file and journal), and the same command run again sends only what is missing.
- Without it the upload is aborted and no journal is written (the download's temporary file
  is removed), as before.

Copied recursively, the file goes through a batch, which Ctrl-C cancels: a multipart upload
whose last parts were in flight then is not completed either (it was, before).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from s3po_reliability import (  # type: ignore[import-not-found]
    faults,
    open_uploads,
    stored_keys,
)

MIB = 1024 * 1024
PART = 5 * MIB
SIZE = 2 * PART + 1

pytestmark = pytest.mark.integration


@pytest.fixture
def stalling(moto_server: Any) -> Iterator[Any]:
    """A proxy in front of moto whose stalls last half a second."""
    moto_server.reset()
    moto_server.admin.create_bucket(Bucket="bkt")
    with faults.FaultProxy(moto_server.endpoint_url, stall_seconds=0.5) as proxy:
        yield proxy


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "s3po" / "resume"


@pytest.fixture
def cli(moto_server: Any, stalling: Any, tmp_path: Path) -> Callable[..., subprocess.Popen[bytes]]:
    """``cli(*args)``: start ``s3po`` on moto through the proxy, in ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3PO_", "AWS_"))}
    env |= {
        "AWS_ACCESS_KEY_ID": moto_server.access_key,
        "AWS_SECRET_ACCESS_KEY": moto_server.secret_key,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    remote = ["--endpoint-url", stalling.url, "--region", moto_server.region, "--no-progress"]
    sizes = ["--part-size", "5MiB", "--threshold", "5MiB"]

    def start(*args: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "s3po.cli", *remote, "cp", *sizes, *args]
        return subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    return start


def _interrupt(proc: subprocess.Popen[bytes], ready: Callable[[], bool]) -> str:
    """Wait for ``ready``, send SIGINT; the process must exit 130. Returns its stderr."""
    try:
        for _ in range(1000):
            if ready():
                break
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"s3po exited with {proc.returncode} before it was interrupted: {err}")
            time.sleep(0.01)
        else:
            pytest.fail("the transfer never reached the stalled request")
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr is not None:
        proc.stderr.close()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    return err


def _parts_stored(moto_server: Any) -> int:
    uploads = open_uploads(moto_server, "bkt")
    if not uploads:
        return 0
    listed = moto_server.admin.list_parts(
        Bucket="bkt", Key="big.bin", UploadId=uploads[0]["UploadId"]
    )
    return len(listed.get("Parts", []))


def _stall_part_two(stalling: Any) -> None:
    stalling.inject(
        "stall", operation="UploadPart", match=lambda r: r.params.get("partNumber") == "2"
    )


@pytest.mark.parametrize(
    ("resume", "recursive"),
    [(True, False), (False, False), (True, True), (False, True)],
    ids=["resume", "no-resume", "resume-recursive", "no-resume-recursive"],
)
def test_ctrl_c_mid_upload_keeps_the_upload_only_with_resume(
    cli: Callable[..., subprocess.Popen[bytes]],
    moto_server: Any,
    stalling: Any,
    tmp_path: Path,
    cache: Path,
    resume: bool,
    recursive: bool,
) -> None:
    # Recursive, the file goes through a batch, which Ctrl-C cancels.
    folder = tmp_path / "src" if recursive else tmp_path
    folder.mkdir(exist_ok=True)
    path = folder / "big.bin"
    path.write_bytes(os.urandom(SIZE))
    flags = ["--resume"] if resume else []
    what = ["-r", "src", "s3://bkt/"] if recursive else ["big.bin", "s3://bkt/big.bin"]
    _stall_part_two(stalling)
    proc = cli(*flags, *what)

    _interrupt(proc, lambda: bool(stalling.faults()) and _parts_stored(moto_server) >= 1)

    uploads = open_uploads(moto_server, "bkt")
    journals = list(cache.glob("*.jsonl")) if cache.is_dir() else []
    assert stored_keys(moto_server, "bkt") == set()  # nothing was committed
    if not resume:
        assert uploads == []
        assert journals == []
        return
    assert len(uploads) == 1
    assert len(journals) == 1
    assert list(cache.glob("*.lock")) == []  # the lock went with the process
    stored = _parts_stored(moto_server)
    sent_before = len(stalling.requests("UploadPart"))

    again = cli("--resume", *what)
    assert again.wait(30) == 0, again.stderr.read().decode() if again.stderr else ""
    if again.stderr is not None:
        again.stderr.close()

    sent = stalling.requests("UploadPart")[sent_before:]
    assert len(sent) == 3 - stored  # only the parts the store did not hold
    body = moto_server.admin.get_object(Bucket="bkt", Key="big.bin")["Body"]
    try:
        assert body.read() == path.read_bytes()
    finally:
        body.close()
    assert open_uploads(moto_server, "bkt") == []
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("resume", [True, False])
def test_ctrl_c_mid_download_keeps_the_partial_file_only_with_resume(
    cli: Callable[..., subprocess.Popen[bytes]],
    moto_server: Any,
    stalling: Any,
    tmp_path: Path,
    cache: Path,
    resume: bool,
) -> None:
    data = os.urandom(SIZE)
    moto_server.admin.put_object(Bucket="bkt", Key="big.bin", Body=data)
    stalling.inject("stall", operation="GetObject", match=lambda r: r.range_start == PART)
    flags = ["--resume"] if resume else []
    dest = tmp_path / "copy.bin"
    proc = cli(*flags, "s3://bkt/big.bin", "copy.bin")

    def stalled() -> bool:
        return bool(stalling.faults()) and any(tmp_path.glob(".copy.bin*"))

    _interrupt(proc, stalled)

    assert not dest.exists()
    partial = dest.with_name(".copy.bin.s3po-partial")
    if not resume:
        assert list(tmp_path.glob(".copy.bin*")) == []
        assert not cache.is_dir() or list(cache.iterdir()) == []
        return
    assert partial.is_file()
    assert len(list(cache.glob("*.jsonl"))) == 1
    seen = len(stalling.requests("GetObject"))

    again = cli("--resume", "s3://bkt/big.bin", "copy.bin")
    assert again.wait(30) == 0, again.stderr.read().decode() if again.stderr else ""
    if again.stderr is not None:
        again.stderr.close()

    starts = [r.request.range_start or 0 for r in stalling.requests("GetObject")[seen:]]
    # The opening GET (pinned to the ETag; its range is on disk), then only what is missing
    # (the ranges in flight at Ctrl-C were waited for, so perhaps nothing).
    assert starts[0] == 0
    assert all(start >= PART for start in starts[1:])
    assert dest.read_bytes() == data
    assert list(tmp_path.glob(".copy.bin*")) == []
    assert list(cache.iterdir()) == []
