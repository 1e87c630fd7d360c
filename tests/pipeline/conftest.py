"""Fixtures for the pipeline tests: a small-part local store and Connections over it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from s3po_local import LocalBackend

import s3po

KIB = 1024
PART = 64 * KIB
THRESHOLD = 128 * KIB


@pytest.fixture
def store(tmp_path: Path) -> LocalBackend:
    """A local backend with 64 KiB minimum parts and bucket ``bucket``."""
    backend = LocalBackend(tmp_path / "store", min_part_size=PART, fsync=False)
    backend.create_bucket("bucket")
    return backend


@pytest.fixture
def small_config() -> s3po.TransferConfig:
    """Multipart above 128 KiB in 64 KiB parts, so boundaries are cheap to cross."""
    return s3po.TransferConfig(
        chunk=s3po.ChunkConfig(threshold=THRESHOLD, part_size=PART, max_concurrency=4)
    )


@pytest.fixture
def sleeps() -> list[float]:
    """The delays the retry layer asked for (nothing really sleeps)."""
    return []


@pytest.fixture
def make_conn(
    store: LocalBackend,
    small_config: s3po.TransferConfig,
    registries: s3po.Registries,
    sleeps: list[float],
) -> Iterator[Callable[..., s3po.Connection]]:
    """Build Connections over ``store`` (or a wrapper of it) that never really sleep."""
    made: list[s3po.Connection] = []

    def make(
        backend: s3po.Backend | None = None, config: s3po.TransferConfig | None = None
    ) -> s3po.Connection:
        conn = s3po.Connection(
            backend if backend is not None else store,
            config=config or small_config,
            registries=registries,
        )
        conn.transfer.sleep = sleeps.append
        made.append(conn)
        return conn

    yield make
    for conn in made:
        conn.close()


@pytest.fixture
def pconn(make_conn: Callable[..., s3po.Connection]) -> s3po.Connection:
    """A Connection over the small-part store."""
    return make_conn()


@pytest.fixture
def assert_clean(store: LocalBackend, tmp_path: Path) -> Callable[..., None]:
    """Check that nothing half-done is left: no uploads, no temp files, maybe no object."""

    def check(key: str | None = None) -> None:
        assert list(store.list_multipart("bucket")) == []
        uploads = store.root / ".s3po" / "uploads" / "bucket"
        assert not uploads.exists() or list(uploads.iterdir()) == []
        temps = [
            p
            for p in tmp_path.rglob("*")
            if p.name.startswith(".s3po-tmp-") or p.name.endswith(".s3po-part")
        ]
        assert temps == []
        if key is not None:
            with pytest.raises(s3po.NoSuchKey):
                store.head("bucket", key)
            assert not (store.root / "bucket" / key).exists()

    return check
