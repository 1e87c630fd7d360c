"""Bucket and key are checked once, where a call enters s3po; Transfer stays safe alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import s3po
import s3po.client.downloads
import s3po.client.uploads
import s3po.transfer.core
from s3po import validation


@pytest.fixture
def key_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every key checked, by any module that checks keys."""
    seen: list[str] = []

    def counting(key: str) -> str:
        seen.append(key)
        return validation.check_key(key)

    for module in (s3po.client.uploads, s3po.client.downloads, s3po.transfer.core):
        monkeypatch.setattr(module, "check_key", counting)
    return seen


def test_each_call_checks_its_key_once(
    pconn: s3po.Connection, key_checks: list[str], tmp_path: Path
) -> None:
    calls: list[Callable[[], object]] = [
        lambda: pconn.upload_string("bucket", "k", "text"),
        lambda: pconn.download_bytes("bucket", "k"),
        lambda: pconn.download_string("bucket", "k"),
        lambda: pconn.download_file("bucket", "k", tmp_path / "out.txt"),
    ]
    for call in calls:
        key_checks.clear()
        call()
        assert key_checks == ["k"]


def test_transfer_called_directly_still_checks(pconn: s3po.Connection, tmp_path: Path) -> None:
    transfer = pconn.transfer
    with pytest.raises(s3po.InvalidBucketName):
        transfer.upload("Bad_Bucket", "k", b"v")
    with pytest.raises(s3po.InvalidKey):
        transfer.read("bucket", "")
    with pytest.raises(s3po.InvalidKey):
        transfer.open("bucket", "x" * 1025)
    pconn.upload_string("bucket", "k", "v")
    with pytest.raises(s3po.InvalidRequest, match="folder"):
        transfer.download("bucket", "k", tmp_path)
    with pytest.raises(s3po.InvalidRequest, match="folder"):
        pconn.download_file("bucket", "k", tmp_path)
