"""Fixtures shared by every test folder."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest
from s3po_local import LocalBackend

import s3po


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``slow`` tests unless asked for: ``S3PO_SOAK=1``, or ``-m`` naming ``slow``.

    The default suite stays within its time budget; the long ones run on purpose.
    """
    expression = config.getoption("markexpr", "") or ""
    wanted = os.environ.get("S3PO_SOAK", "") == "1" or re.search(r"(?<!not )\bslow\b", expression)
    if wanted:
        return
    skip = pytest.mark.skip(reason="slow (soak) test: run with S3PO_SOAK=1 or -m slow")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


@pytest.fixture
def registries() -> s3po.Registries:
    """Fresh registries from a fresh plugin manager, per test."""
    return s3po.Registries(s3po.make_plugin_manager())


@pytest.fixture
def local_backend(tmp_path: Path) -> LocalBackend:
    """A strict local backend (no implicit buckets) with bucket ``bucket`` created."""
    backend = LocalBackend(tmp_path / "store", create_buckets=False)
    backend.create_bucket("bucket")
    return backend


@pytest.fixture
def conn(tmp_path: Path, registries: s3po.Registries) -> Iterator[s3po.Connection]:
    """A Connection on the local backend under ``tmp_path``."""
    with s3po.Connection(backend="local", root=tmp_path / "store", registries=registries) as c:
        c.create_bucket("bucket")
        yield c


# -- real S3 servers (tests/servers.py) ----------------------------------------------------


def _load_servers() -> ModuleType:
    """Import tests/servers.py by path (tests are not a package under importlib mode)."""
    name = "s3po_test_servers"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("servers.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


servers = _load_servers()


def _unavailable(what: str, exc: BaseException) -> NoReturn:
    """Skip for lack of a server, except in CI (CI=true), where it must fail the run."""
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"{what} could not start and CI is set, so this fails the run: {exc}")
    pytest.skip(f"{what} could not start: {exc}")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Any]:
    """moto in server mode on 127.0.0.1, for the whole session (reset per test by s3_bucket)."""
    try:
        server = servers.start_moto()
    except servers.ServerUnavailable as exc:
        _unavailable("moto server", exc)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def seaweedfs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """SeaweedFS (weed mini) on 127.0.0.1 with access keys, for the whole session."""
    try:
        server = servers.start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    except servers.ServerUnavailable as exc:
        _unavailable("SeaweedFS", exc)
    yield server
    server.stop()


@pytest.fixture(params=["moto", "seaweedfs"])
def s3_server(request: pytest.FixtureRequest) -> Any:
    """Each real server in turn."""
    return request.getfixturevalue(f"{request.param}_server")


@pytest.fixture
def s3_bucket(s3_server: Any) -> Iterator[str]:
    """A fresh, empty bucket on ``s3_server`` (moto is reset first), removed afterwards."""
    s3_server.reset()
    bucket = servers.unique_bucket()
    client = s3_server.admin
    client.create_bucket(Bucket=bucket)
    yield bucket
    if not s3_server.resettable:
        try:
            client.delete_bucket(Bucket=bucket)  # SeaweedFS deletes non-empty buckets whole
        except client.exceptions.ClientError:
            servers.empty_bucket(client, bucket)
