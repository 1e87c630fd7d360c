"""fsspec's own abstract test suite on S3poFileSystem: the local backend, and S3 on moto."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fsspec.tests.abstract import (
    AbstractCopyTests,
    AbstractFixtures,
    AbstractGetTests,
    AbstractOpenTests,
    AbstractPipeTests,
    AbstractPutTests,
)

from s3po.fs import S3poFileSystem


class _Fixtures(AbstractFixtures):  # type: ignore[misc]
    bucket = "abstract"

    @pytest.fixture
    def fs_join(self) -> Any:
        return lambda *parts: "/".join(parts)

    @pytest.fixture
    def fs_path(self) -> str:
        return self.bucket

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        # Object stores hold objects, not folders: a folder exists while an object is
        # under it (as with s3fs), so an empty one cannot be made.
        return False


class _Suite(
    AbstractCopyTests,  # type: ignore[misc]
    AbstractGetTests,  # type: ignore[misc]
    AbstractPutTests,  # type: ignore[misc]
    AbstractOpenTests,  # type: ignore[misc]
    AbstractPipeTests,  # type: ignore[misc]
):
    pass


class TestLocal(_Fixtures, _Suite):
    @pytest.fixture
    def fs(self, tmp_path: Path) -> Iterator[S3poFileSystem]:
        fs = S3poFileSystem("local", root=tmp_path / "store", skip_instance_cache=True)
        fs.mkdir(self.bucket)
        yield fs
        fs.conn.close()


_MOTO_BUCKET = f"abstract-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def moto_fs(moto_server: Any) -> Iterator[S3poFileSystem]:
    """One bucket and Connection for the module: every abstract test removes what it made."""
    moto_server.admin.create_bucket(Bucket=_MOTO_BUCKET)
    fs = S3poFileSystem("s3", skip_instance_cache=True, **moto_server.options())
    yield fs
    fs.conn.close()


@pytest.mark.integration
class TestMoto(_Fixtures, _Suite):
    bucket = _MOTO_BUCKET

    @pytest.fixture
    def fs(self, moto_fs: S3poFileSystem) -> S3poFileSystem:
        return moto_fs
