"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import s3po
from s3po_local import LocalBackend


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
