"""The backend contract on the fsspec backend: memory:// always, s3fs against moto."""

from __future__ import annotations

import uuid
from importlib import metadata
from typing import Any

import pytest
from s3po_fsspec.backend import FsspecBackend

import s3po
from s3po.testing import BackendContract

fsspec = pytest.importorskip("fsspec")


class TestMemoryContract(BackendContract):
    @pytest.fixture
    def backend(self) -> FsspecBackend:
        fs = fsspec.filesystem("memory", skip_instance_cache=True)
        fs.store.clear()
        fs.pseudo_dirs.clear()
        fs.pseudo_dirs.append("")
        return FsspecBackend(fs, root=f"/t{uuid.uuid4().hex[:8]}")

    @pytest.fixture
    def bucket(self, backend: FsspecBackend) -> str:
        backend.create_bucket("contract")
        return "contract"


@pytest.mark.integration
class TestS3fsOnMotoContract(BackendContract):
    @pytest.fixture
    def backend(self, moto_server: Any) -> FsspecBackend:
        s3fs = pytest.importorskip("s3fs")
        moto_server.reset()
        fs = s3fs.S3FileSystem(
            key=moto_server.access_key,
            secret=moto_server.secret_key,
            client_kwargs={"endpoint_url": moto_server.endpoint_url, "region_name": "us-east-1"},
            skip_instance_cache=True,
            use_listings_cache=False,
        )
        return FsspecBackend(fs)

    @pytest.fixture
    def bucket(self, moto_server: Any) -> str:
        name = f"fs-{uuid.uuid4().hex[:12]}"
        # s3fs's mkdir sends a us-east-1 LocationConstraint, which S3 (and moto) refuse
        moto_server.admin.create_bucket(Bucket=name)
        return name

    @pytest.mark.slow
    def test_list_many(self, backend: s3po.Backend, bucket: str) -> None:
        """Opt in with ``-m slow``: a put through s3fs is three round trips (bucket check, data,
        metadata record) on s3fs's one event-loop thread, so storing the 1,050 keys takes a
        minute. The backend's listing is one ``find`` of the metadata records, paged by s3fs;
        paging itself is covered by the s3 and obstore contracts on the same server.
        """
        super().test_list_many(backend, bucket)


def test_registered_as_a_plugin(tmp_path: Any) -> None:
    registries = s3po.Registries(s3po.make_plugin_manager())
    backend = registries.backends.create(
        "fsspec", protocol="file", root=str(tmp_path), auto_mkdir=True
    )
    conn = s3po.Connection(backend)
    conn.create_bucket("bucket")
    conn.upload_string("bucket", "a/b.txt", "hello", compress="gzip")
    assert conn.download_string("bucket", "a/b.txt") == "hello"
    assert conn.head("bucket", "a/b.txt").headers.content_encoding == "gzip"


def test_resolved_versions_are_compatible() -> None:
    """s3fs must not silently resolve to an ancient release next to a new boto3."""
    s3fs_version = tuple(int(x) for x in metadata.version("s3fs").split(".")[:2])
    assert s3fs_version >= (2025, 9)
    assert metadata.version("fsspec") == metadata.version("s3fs")
    botocore = tuple(int(x) for x in metadata.version("botocore").split(".")[:3])
    requirement = next(
        r for r in metadata.requires("aiobotocore") or [] if r.startswith("botocore")
    )
    assert botocore >= (1, 36), requirement
