"""A file that changes while it is uploaded is never stored under a wrong checksum, nor deleted.

Each attack mutates the file at a deterministic point (a middleware or a backend wrapper
writes to it between the checksum pass and the body reads, or between parts, or after the
commit) and asserts the typed error, that the file is still there with its new content, and
that no new object and no multipart upload was left behind.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from s3po_local import LocalBackend

import s3po
from s3po._types import ForwardingBackend, Headers, ObjectInfo, PartBody, PartInfo, UploadBody
from s3po.backend import WriteCondition
from s3po.integrity import HASHES, Checksum

KIB = 1024
SMALL = 50 * KIB  # one PUT (threshold 128 KiB)
BIG = 300 * KIB + 5  # five parts of 64 KiB


def _data(n: int, seed: int = 0) -> bytes:
    return random.Random(f"{seed}-{n}").randbytes(n)


def append(path: Path) -> None:
    """A log still being written: more bytes at the end."""
    with path.open("ab") as f:
        f.write(b"one more line\n")


def rewrite(path: Path) -> None:
    """The same size, other bytes, written in place in a later clock tick."""
    st = path.stat()
    with path.open("r+b") as f:
        f.write(b"REWRITTEN" * 100)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


MUTATIONS = {"append": append, "rewrite": rewrite}


def mutate_before_put(path: Path, mutation: Callable[[Path], None]) -> s3po.Middleware:
    """A user middleware: the checksum pass is done, no body byte has been read yet."""

    class Mutate(ForwardingBackend):
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
            mutation(path)
            return self.inner.put(
                bucket, key, body, headers=headers, size=size, condition=condition
            )

    return Mutate


class MutateAtPart(ForwardingBackend):
    """Below the chunking layer: mutates the file just before part ``number`` is sent."""

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


class MutateAfterCommit(ForwardingBackend):
    """Mutates the file once the object is committed (after the PUT or the completion)."""

    def __init__(self, inner: s3po.Backend, path: Path) -> None:
        super().__init__(inner)
        self.path = path

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
        info = self.inner.put(bucket, key, body, headers=headers, size=size, condition=condition)
        append(self.path)
        return info

    def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Any,
        *,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        info = self.inner.complete_multipart(bucket, key, upload_id, parts, condition=condition)
        append(self.path)
        return info


def _config(base: s3po.TransferConfig, middleware: s3po.Middleware, **kw: Any) -> Any:
    import dataclasses  # noqa: PLC0415

    return dataclasses.replace(base, middleware=(middleware,), **kw)


def _kept(path: Path, original: bytes) -> None:
    """The file is still there, with its new content (not the bytes first read)."""
    assert path.exists()
    now = path.read_bytes()
    assert now != original


@pytest.mark.parametrize("size", [SMALL, BIG], ids=["put", "multipart"])
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize("compress", [None, "gzip"])
def test_changed_after_checksum_pass_is_refused_and_kept(
    make_conn: Callable[..., s3po.Connection],
    small_config: s3po.TransferConfig,
    assert_clean: Callable[..., None],
    tmp_path: Path,
    size: int,
    mutation: str,
    compress: str | None,
) -> None:
    path = tmp_path / "app.log"
    original = _data(size)
    path.write_bytes(original)
    config = _config(small_config, mutate_before_put(path, MUTATIONS[mutation]), compress=compress)
    conn = make_conn(config=config)
    with pytest.raises(s3po.SourceChanged) as caught:
        conn.upload_file("bucket", "app.log", path, delete=True)
    assert caught.value.path == str(path)
    _kept(path, original)
    assert_clean("app.log")


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_changed_between_parts_aborts_and_keeps_the_old_object(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    assert_clean: Callable[..., None],
    tmp_path: Path,
    mutation: str,
) -> None:
    store.put("bucket", "app.log", b"version 1", headers=Headers())
    path = tmp_path / "app.log"
    original = _data(BIG, 1)
    path.write_bytes(original)
    conn = make_conn(MutateAtPart(store, path, MUTATIONS[mutation], 3))
    with pytest.raises(s3po.SourceChanged):
        conn.upload_file("bucket", "app.log", path, delete=True)
    _kept(path, original)
    assert_clean()
    assert conn.download_bytes("bucket", "app.log") == b"version 1"


@pytest.mark.parametrize("size", [SMALL, BIG], ids=["put", "multipart"])
def test_changed_after_the_commit_keeps_the_file(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    assert_clean: Callable[..., None],
    tmp_path: Path,
    size: int,
) -> None:
    path = tmp_path / "app.log"
    original = _data(size, 2)
    path.write_bytes(original)
    conn = make_conn(MutateAfterCommit(store, path))
    with pytest.raises(s3po.SourceChanged, match="kept") as caught:
        conn.upload_file("bucket", "app.log", path, delete=True)
    assert caught.value.path == str(path)
    assert path.read_bytes() == original + b"one more line\n"
    # The object holds the content as it was read, under its own checksum.
    assert conn.download_bytes("bucket", "app.log") == original
    assert_clean()


def test_a_batch_keeps_a_file_that_changed(
    make_conn: Callable[..., s3po.Connection],
    small_config: s3po.TransferConfig,
    assert_clean: Callable[..., None],
    tmp_path: Path,
) -> None:
    changing, steady = tmp_path / "changing.log", tmp_path / "steady.log"
    changing.write_bytes(_data(BIG, 3))
    steady.write_bytes(_data(SMALL, 4))

    class AppendToOne(ForwardingBackend):
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
            if key == "changing.log":
                append(changing)
            return self.inner.put(
                bucket, key, body, headers=headers, size=size, condition=condition
            )

    conn = make_conn(config=_config(small_config, AppendToOne))
    with pytest.raises(s3po.BatchError) as caught, conn.batch(2) as batch:  # noqa: PT012 - the batch raises on exit
        batch.upload_file("bucket", "changing.log", changing, delete=True)
        batch.upload_file("bucket", "steady.log", steady, delete=True)
    assert [type(e) for e in caught.value.exceptions] == [s3po.SourceChanged]
    assert changing.exists()
    assert not steady.exists()
    assert conn.download_bytes("bucket", "steady.log") == _data(SMALL, 4)
    assert_clean("changing.log")


def test_unchanged_file_is_deleted_after_a_verified_upload(
    pconn: s3po.Connection, tmp_path: Path
) -> None:
    for size in (0, SMALL, BIG):
        path = tmp_path / f"f{size}"
        path.write_bytes(_data(size, 5))
        pconn.upload_file("bucket", path.name, path, delete=True)
        assert not path.exists()
        assert pconn.download_bytes("bucket", path.name) == _data(size, 5)


# -- the window itself -------------------------------------------------------------------


def test_window_read_refuses_bytes_that_differ_from_the_declared_checksum(
    tmp_path: Path,
) -> None:
    """Same size, same identity (the rewrite landed in the same clock tick): the hash tells."""
    path = tmp_path / "f"
    path.write_bytes(b"a" * 1000)
    declared = Checksum("xxh128", HASHES["xxh128"].new(b"b" * 1000).hexdigest())
    with path.open("rb") as f:
        window = s3po.FileWindow(f.fileno(), 0, 1000, path=str(path), content=declared)
        assert window.read(600) == b"a" * 600  # not the last chunk: nothing known yet
        with pytest.raises(s3po.SourceChanged):
            window.read(600)
        window.seek(0)
        with pytest.raises(s3po.SourceChanged):
            bytes(window)
        with pytest.raises(s3po.SourceChanged):
            b"".join(bytes(v) for v in window.views(300))


def test_window_read_checks_the_identity_before_the_last_chunk(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 1000)
    with path.open("rb") as f:
        window = s3po.FileWindow(f.fileno(), 0, 1000, path=str(path))
        append(path)
        assert window.read(999) == b"a" * 999
        with pytest.raises(s3po.SourceChanged):
            window.read(10)


# -- special files ----------------------------------------------------------------------


def test_a_fifo_is_refused_without_blocking(pconn: s3po.Connection, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(s3po.InvalidRequest, match="stream"):
        pconn.upload_file("bucket", "pipe", fifo, delete=True)
    with pytest.raises(s3po.InvalidRequest, match="stream"):
        pconn.transfer.upload("bucket", "pipe", fifo)
    assert fifo.exists()


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_character_device_is_refused(pconn: s3po.Connection) -> None:
    with pytest.raises(s3po.InvalidRequest, match="/dev/zero"):
        pconn.upload_file("bucket", "zero", "/dev/zero")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="no /proc")
@pytest.mark.parametrize("checksum", [True, False])
def test_a_proc_file_that_lies_about_its_size_is_refused(
    make_conn: Callable[..., s3po.Connection],
    small_config: s3po.TransferConfig,
    assert_clean: Callable[..., None],
    checksum: bool,
) -> None:
    import dataclasses  # noqa: PLC0415

    conn = make_conn(config=dataclasses.replace(small_config, checksum=checksum))
    with pytest.raises(s3po.InvalidRequest, match="/proc/self/status"):
        conn.upload_file("bucket", "status", "/proc/self/status")
    assert_clean("status")


def test_a_proc_file_can_be_streamed_explicitly(pconn: s3po.Connection) -> None:
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("no /proc")
    with Path("/proc/self/cmdline").open("rb") as f:
        pconn.upload_fileobj("bucket", "cmdline", f)
    assert pconn.download_bytes("bucket", "cmdline")
