"""``cp --resume`` continues an interrupted upload; ``cleanup`` removes stale resume journals."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from s3po_local import LocalBackend

import s3po

from .conftest import Runner

MIB = 1024 * 1024
PART = 5 * MIB  # the local backend's minimum, as S3's


class FailingPart(s3po.ForwardingBackend):
    """The third UploadPart fails for good."""

    calls = 0

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: s3po.PartBody
    ) -> s3po.PartInfo:
        FailingPart.calls += 1
        if FailingPart.calls == 3:
            raise s3po.TransientError("cut off (test)")
        return self.inner.put_part(bucket, key, upload_id, part_number, data)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def interrupted(store: Path, tmp_path: Path, cache: Path) -> Path:  # noqa: ARG001 - the env
    """A 4-part upload of big.bin to s3://bkt/big.bin that stopped after two parts."""
    backend = LocalBackend(store, fsync=False)
    backend.create_bucket("bkt")
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(3 * PART + 11))
    chunk = s3po.ChunkConfig(threshold=PART, part_size=PART, max_concurrency=1)
    config = s3po.TransferConfig(chunk=chunk, resume=True, retry=s3po.RetryConfig(retries=0))
    FailingPart.calls = 0
    # With the metadata cp records (size and mtime), so the resumed upload's match.
    st = path.stat()
    meta = {"s3po-size": str(st.st_size), "s3po-mtime": repr(st.st_mtime)}
    conn = s3po.Connection(FailingPart(backend), config=config)
    try:
        with pytest.raises(s3po.TransferError):
            conn.upload_file("bkt", "big.bin", path, metadata=meta)
    finally:
        conn.close()
    assert len(list(backend.list_multipart("bkt"))) == 1
    return path


def test_cp_resume_sends_only_the_missing_parts(
    cli: Runner, interrupted: Path, store: Path, cache: Path
) -> None:
    env = {"XDG_CACHE_HOME": str(cache)}
    sizes = ("--part-size", "5MiB", "--threshold", "5MiB")
    result = cli("-v", "cp", "--resume", *sizes, "big.bin", "s3://bkt/big.bin", env=env, check=0)
    assert "2 parts sent, 2 already stored" in result.stderr.decode()
    backend = LocalBackend(store)
    assert list(backend.list_multipart("bkt")) == []
    with s3po.Connection(backend) as conn:
        assert conn.download_bytes("bkt", "big.bin") == interrupted.read_bytes()
    assert list((cache / "s3po" / "resume").iterdir()) == []


def test_cleanup_removes_the_journal_of_the_upload_it_aborts(
    cli: Runner,
    interrupted: Path,  # noqa: ARG001 - the upload left behind
    store: Path,
    cache: Path,
) -> None:
    env = {"XDG_CACHE_HOME": str(cache)}
    journals = cache / "s3po" / "resume"
    listed = cli("--json", "--dry-run", "cleanup", "s3://bkt/", "--older-than", "0s", env=env)
    actions = [json.loads(line)["action"] for line in listed.stdout.splitlines()]
    assert actions == ["abort", "remove-journal"]
    assert len(list(journals.iterdir())) == 1

    result = cli("cleanup", "s3://bkt/", "--older-than", "0s", env=env, check=0)
    assert "remove resume journal: s3://bkt/big.bin (upload of " in result.stdout.decode()
    assert list(journals.iterdir()) == []
    assert list(LocalBackend(store).list_multipart("bkt")) == []
