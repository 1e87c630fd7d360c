"""Fixtures for the reliability tests: a fault-injecting proxy in front of a real S3 server.

Every test talks to moto or SeaweedFS through ``FaultProxy`` (``tests/faults.py``) with
``s3po.Connection("s3", endpoint_url=proxy.url, ...)``, and checks the server's state with a
plain boto3 client that goes straight to the server. The helpers live in ``helpers.py``,
imported here by path and registered as ``s3po_reliability`` for the test modules.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load_helpers() -> ModuleType:
    name = "s3po_reliability"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("helpers.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


helpers = _load_helpers()


@pytest.fixture
def proxy(s3_server: Any) -> Iterator[Any]:
    """A fault proxy in front of ``s3_server``, with no faults planned yet."""
    with helpers.faults.FaultProxy(
        s3_server.endpoint_url, stall_seconds=helpers.STALL_SECONDS
    ) as p:
        yield p


@pytest.fixture
def moto_proxy(moto_server: Any) -> Iterator[Any]:
    """A fault proxy in front of moto only."""
    with helpers.faults.FaultProxy(
        moto_server.endpoint_url, stall_seconds=helpers.STALL_SECONDS
    ) as p:
        yield p


@pytest.fixture
def bucket(s3_server: Any, s3_bucket: str) -> str:
    """``s3_bucket``, written to once first.

    SeaweedFS allocates a new bucket's volumes on its first write, which can take longer than
    the tests' one-second read timeout; that write happens here, not through the proxy.
    """
    s3_server.admin.put_object(Bucket=s3_bucket, Key="warm-up", Body=b"x")
    s3_server.admin.delete_object(Bucket=s3_bucket, Key="warm-up")
    return s3_bucket


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache root of this process and of the resume tests' children (journals inside)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[Any, Any, Any]]:
    """A local store, a counter below the stack, and a resuming Connection over both."""
    with helpers.resumable_local(tmp_path / "store") as made:
        yield made


@pytest.fixture
def stalling(s3_server: Any) -> Iterator[Any]:
    """A proxy whose stalls last until the test ends (the child is killed before)."""
    with helpers.faults.FaultProxy(s3_server.endpoint_url, stall_seconds=60) as proxy:
        yield proxy
