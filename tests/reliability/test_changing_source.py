"""A file that changes while it is uploaded, against real S3 servers (moto and SeaweedFS).

Each test runs on both S3 backends: ``s3`` (boto3 alone) and ``obstore`` (the default).

The file is mutated at a deterministic point: by a user middleware after the checksum pass
and before any body byte is read, or by a wrapper of the S3 backend just before a part is
sent. Each test asserts SourceChanged, that the file is kept with its new content, and,
straight from the server, that no new object and no multipart upload was left.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from s3po_obstore.backend import ObstoreBackend
from s3po_reliability import MIB, PARTS, data, open_uploads, stored_keys  # type: ignore[import-not-found]
from s3po_s3.backend import S3Backend

import s3po
from s3po._types import ForwardingBackend, Headers, ObjectInfo, PartBody, PartInfo, UploadBody
from s3po.backend import WriteCondition

pytestmark = pytest.mark.integration

SMALL = 1 * MIB + 7
BIG = 11 * MIB  # three parts of 5 MiB


def append(path: Path) -> None:
    with path.open("ab") as f:
        f.write(b"one more line\n")


def rewrite(path: Path) -> None:
    """The same size, other bytes, written in place in a later clock tick."""
    st = path.stat()
    with path.open("r+b") as f:
        f.write(b"REWRITTEN" * 1000)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


MUTATIONS: dict[str, Callable[[Path], None]] = {"append": append, "rewrite": rewrite}


class MutateBeforePut(ForwardingBackend):
    """A user middleware: the checksum is computed, no body byte has been read."""

    path: Path
    mutation: Callable[[Path], None]

    def put(
        self,
        bucket: str,
        key: str,
        body: UploadBody,
        *,
        headers: Headers,
        size: int | None = None,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        self.mutation(self.path)
        return self.inner.put(bucket, key, body, headers=headers, size=size, condition=condition)


class MutateAtPart(ForwardingBackend):
    """Around the backend: mutates the file just before part ``number`` is sent."""

    def __init__(
        self, inner: s3po.Backend, path: Path, mutation: Callable[[Path], None], number: int
    ) -> None:
        super().__init__(inner)
        self.path, self.mutation, self.number = path, mutation, number

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: PartBody
    ) -> PartInfo:
        if part_number == self.number:
            self.mutation(self.path)
        return self.inner.put_part(bucket, key, upload_id, part_number, data)


@pytest.fixture(params=[S3Backend, ObstoreBackend], ids=["s3", "obstore"])
def make(request: pytest.FixtureRequest, s3_server: Any) -> Callable[[], s3po.Backend]:
    """A fresh backend of the kind under test, on the server under test."""
    kind = request.param
    return lambda: kind(**s3_server.options())


def _connection(backend: s3po.Backend, **config: Any) -> s3po.Connection:
    cfg = s3po.TransferConfig(chunk=PARTS, retry=s3po.RetryConfig(retries=1, base=0.01), **config)
    return s3po.Connection(backend, config=cfg)


def _nothing_left(server: Any, bucket: str, kept: dict[str, bytes]) -> None:
    assert open_uploads(server, bucket) == []
    assert stored_keys(server, bucket) == set(kept)
    for key, body in kept.items():
        assert server.admin.get_object(Bucket=bucket, Key=key)["Body"].read() == body


@pytest.mark.parametrize("size", [SMALL, BIG], ids=["put", "multipart"])
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_changed_after_the_checksum_pass(
    s3_server: Any,
    make: Callable[[], s3po.Backend],
    bucket: str,
    tmp_path: Path,
    size: int,
    mutation: str,
) -> None:
    path = tmp_path / "app.log"
    original = data(size, 1)
    path.write_bytes(original)
    s3_server.admin.put_object(Bucket=bucket, Key="old.log", Body=b"version 1")

    def middleware(inner: s3po.Backend) -> s3po.Backend:
        layer = MutateBeforePut(inner)
        layer.path, layer.mutation = path, MUTATIONS[mutation]
        return layer

    with _connection(make(), middleware=(middleware,)) as conn:
        for key in ("app.log", "old.log"):
            path.write_bytes(original)
            with pytest.raises(s3po.SourceChanged):
                conn.upload_file(bucket, key, path, delete=True)
            assert path.exists()
            assert path.read_bytes() != original
    _nothing_left(s3_server, bucket, {"old.log": b"version 1"})


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_changed_between_parts(
    s3_server: Any, make: Callable[[], s3po.Backend], bucket: str, tmp_path: Path, mutation: str
) -> None:
    path = tmp_path / "app.log"
    original = data(BIG, 2)
    path.write_bytes(original)
    backend = MutateAtPart(make(), path, MUTATIONS[mutation], 2)
    with _connection(backend) as conn, pytest.raises(s3po.SourceChanged):
        conn.upload_file(bucket, "app.log", path, delete=True)
    assert path.read_bytes() != original
    _nothing_left(s3_server, bucket, {})


@pytest.mark.parametrize("size", [SMALL, BIG], ids=["put", "multipart"])
def test_compressed_upload_of_a_changing_file(
    s3_server: Any, make: Callable[[], s3po.Backend], bucket: str, tmp_path: Path, size: int
) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"a log line\n" * (size // 11))

    def middleware(inner: s3po.Backend) -> s3po.Backend:
        layer = MutateBeforePut(inner)
        layer.path, layer.mutation = path, append
        return layer

    conn = _connection(make(), middleware=(middleware,), compress="gzip")
    with conn, pytest.raises(s3po.SourceChanged):
        conn.upload_file(bucket, "app.log", path, delete=True)
    assert path.exists()
    _nothing_left(s3_server, bucket, {})


def test_an_unchanged_file_round_trips_and_is_deleted(
    s3_server: Any, make: Callable[[], s3po.Backend], bucket: str, tmp_path: Path
) -> None:
    with _connection(make()) as conn:
        for size in (SMALL, BIG):
            path = tmp_path / f"f{size}"
            path.write_bytes(data(size, 3))
            conn.upload_file(bucket, path.name, path, delete=True)
            assert not path.exists()
            assert conn.download_bytes(bucket, path.name) == data(size, 3)
    assert open_uploads(s3_server, bucket) == []
