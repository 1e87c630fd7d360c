"""The backend contract, and memory-only behaviour, on the in-memory backend."""

from __future__ import annotations

import threading

import pytest
from s3po_memory import MemoryBackend

import s3po
from s3po.testing import BackendContract


class TestMemoryContract(BackendContract):
    @pytest.fixture
    def backend(self) -> MemoryBackend:
        return MemoryBackend(create_buckets=False)

    @pytest.fixture
    def bucket(self, backend: MemoryBackend) -> str:
        backend.create_bucket("contract")
        return "contract"


def test_registered_through_the_entry_point(registries: s3po.Registries) -> None:
    assert "memory" in registries.backends
    with s3po.Connection(backend="memory", registries=registries) as conn:
        assert isinstance(conn.backend, MemoryBackend)
        conn.upload_string("fresh", "k", "text", metadata={"a": "1"})
        assert conn.download_string("fresh", "k") == "text"
        assert conn.head("fresh", "k").headers.metadata["a"] == "1"


def test_each_backend_is_its_own_store() -> None:
    first, second = MemoryBackend(), MemoryBackend()
    first.put("bucket", "k", b"x", headers=s3po.Headers())
    with pytest.raises(s3po.NoSuchBucket):
        second.head("bucket", "k")


def test_strict_mode_refuses_missing_bucket() -> None:
    backend = MemoryBackend(create_buckets=False)
    with pytest.raises(s3po.NoSuchBucket, match="create_bucket"):
        backend.put("nobucket", "k", b"x", headers=s3po.Headers())
    with pytest.raises(s3po.NoSuchBucket):
        backend.start_multipart("nobucket", "k", headers=s3po.Headers())


def test_too_many_parts_refused() -> None:
    backend = MemoryBackend(min_part_size=1, max_parts=3)
    upload = backend.start_multipart("bucket", "k", headers=s3po.Headers())
    with pytest.raises(s3po.InvalidPart, match="outside"):
        backend.put_part("bucket", "k", upload, 4, b"x")
    backend.abort_multipart("bucket", "k", upload)
    with pytest.raises(s3po.NoSuchUpload):
        backend.abort_multipart("bucket", "k", upload)


def test_a_part_with_another_etag_is_refused() -> None:
    backend = MemoryBackend(min_part_size=1)
    upload = backend.start_multipart("bucket", "k", headers=s3po.Headers())
    part = backend.put_part("bucket", "k", upload, 1, b"first")
    with pytest.raises(s3po.InvalidPart, match="ETag"):
        backend.complete_multipart("bucket", "k", upload, [s3po.PartInfo(1, "0" * 32, part.size)])
    with pytest.raises(s3po.NoSuchKey):
        backend.head("bucket", "k")


def test_readers_see_whole_objects_while_writers_replace_them() -> None:
    backend = MemoryBackend()
    versions = [bytes([i]) * 100_000 for i in range(8)]
    backend.put("bucket", "k", versions[0], headers=s3po.Headers())
    stop = threading.Event()
    seen: list[bytes] = []

    def read() -> None:
        while not stop.is_set():
            with backend.get("bucket", "k") as result:
                seen.append(result.body.readall())

    reader = threading.Thread(target=read)
    reader.start()
    for version in versions * 20:
        backend.put("bucket", "k", version, headers=s3po.Headers())
    stop.set()
    reader.join()
    assert seen
    assert all(data in versions for data in seen)
