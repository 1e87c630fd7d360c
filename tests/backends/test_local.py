"""The backend contract, and local-only behaviour, on the local-filesystem backend."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from s3po_local import LocalBackend, _parts

import s3po
from s3po.testing import BackendContract


class TestLocalContract(BackendContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> LocalBackend:
        return LocalBackend(tmp_path / "store", create_buckets=False)

    @pytest.fixture
    def bucket(self, backend: LocalBackend) -> str:
        backend.create_bucket("contract")
        return "contract"


class TestLocalOpaqueETagContract(TestLocalContract):
    """The same behaviour with opaque ETags, fsync off: the fast scratch-store setup."""

    md5_etags = False

    @pytest.fixture
    def backend(self, tmp_path: Path) -> LocalBackend:
        return LocalBackend(tmp_path / "store", create_buckets=False, etag="opaque", fsync=False)


@pytest.mark.parametrize(
    "key", ["../escape", "a/../../b", "/abs", "a//b", "trailing/", ".", "a/./b", "x\x00y"]
)
def test_keys_escaping_root_refused(local_backend: LocalBackend, key: str) -> None:
    with pytest.raises(s3po.InvalidKey):
        local_backend.put("bucket", key, b"x", headers=s3po.Headers())
    assert not any(p.is_file() for p in local_backend.root.parent.rglob("*") if "escape" in p.name)


def test_objects_are_plain_files(local_backend: LocalBackend) -> None:
    local_backend.put("bucket", "dir/file.txt", b"hello", headers=s3po.Headers())
    assert (local_backend.root / "bucket" / "dir" / "file.txt").read_bytes() == b"hello"


def test_strict_mode_refuses_missing_bucket(local_backend: LocalBackend) -> None:
    with pytest.raises(s3po.NoSuchBucket, match="create_bucket"):
        local_backend.put("nobucket", "k", b"x", headers=s3po.Headers())


def test_default_creates_bucket_on_write(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    backend.put("fresh", "k", b"x", headers=s3po.Headers())
    assert backend.head("fresh", "k").size == 1
    with pytest.raises(s3po.NoSuchBucket):
        backend.head("other", "k")


def test_key_and_folder_conflict(local_backend: LocalBackend) -> None:
    local_backend.put("bucket", "a", b"x", headers=s3po.Headers())
    with pytest.raises(s3po.InvalidKey, match="cannot hold both"):
        local_backend.put("bucket", "a/b", b"y", headers=s3po.Headers())
    assert local_backend.head("bucket", "a").size == 1


def test_failed_write_leaves_no_temp_file(local_backend: LocalBackend) -> None:
    class Boom:
        def read(self, _n: int = -1) -> bytes:
            raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        local_backend.put("bucket", "k", Boom(), headers=s3po.Headers())
    leftovers = list((local_backend.root / "bucket").rglob("*"))
    assert leftovers == []


def test_too_many_parts_refused(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path, min_part_size=1, max_parts=3)
    upload = backend.start_multipart("bucket", "k", headers=s3po.Headers())
    with pytest.raises(s3po.InvalidPart, match="outside"):
        backend.put_part("bucket", "k", upload, 4, b"x")
    backend.abort_multipart("bucket", "k", upload)


@pytest.mark.parametrize("fsync", [True, False])
def test_objects_are_fsynced_and_part_files_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, fsync: bool
) -> None:
    """Only what an object is made of is flushed: staging part files never are.

    Each object's folder is flushed after the rename too, so the commit itself is durable.
    """
    backend = LocalBackend(tmp_path, fsync=fsync, min_part_size=4)
    synced: list[int] = []
    folders: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            folders.append(str(Path(f"/proc/self/fd/{fd}").readlink()))
        else:
            synced.append(os.fstat(fd).st_size)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    upload_id = backend.start_multipart("bucket", "k", headers=s3po.Headers())
    parts = [
        backend.put_part("bucket", "k", upload_id, 1, b"first"),
        backend.put_part("bucket", "k", upload_id, 2, b"second"),
    ]
    assert synced == []
    backend.complete_multipart("bucket", "k", upload_id, parts)
    backend.put("bucket", "single", b"one request", headers=s3po.Headers())
    assert synced == ([len(b"firstsecond"), len(b"one request")] if fsync else [])
    assert folders == ([str(tmp_path / "bucket")] * 2 if fsync else [])


@pytest.mark.parametrize("kernel", [True, False])
def test_bodies_copy_into_files_at_offsets(
    local_backend: LocalBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, kernel: bool
) -> None:
    """copy_into copies inside the kernel, or by reading where copy_file_range fails."""
    if not kernel:

        def unsupported(*_args: object) -> int:
            raise OSError(18, "Invalid cross-device link")

        monkeypatch.setattr(os, "copy_file_range", unsupported)
    data = os.urandom(300_000)
    local_backend.put("bucket", "k", data, headers=s3po.Headers())
    target = tmp_path / "out.bin"
    target.write_bytes(b"\0" * 100)
    with target.open("r+b") as out, local_backend.get("bucket", "k", start=1000) as result:
        pos = 100
        while n := result.body.copy_into(out.fileno(), pos, 64 * 1024):
            pos += n
        assert result.body.read() == b""
    assert target.read_bytes() == b"\0" * 100 + data[1000:]
    with (tmp_path / "head.bin").open("wb") as head, local_backend.get("bucket", "k") as result:
        assert result.body.copy_into(head.fileno(), 0, 10) == 10
        assert result.body.read(5) == data[10:15]  # reads go on where the copy stopped
    assert (tmp_path / "head.bin").read_bytes() == data[:10]


def test_opaque_etags_change_with_every_write_and_cost_no_hashing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store", etag="opaque")
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024))
    copies: list[int] = []
    real_copy = os.copy_file_range

    def counting_copy(*args: int) -> int:
        copies.append(args[2])
        return real_copy(*args)

    monkeypatch.setattr(os, "copy_file_range", counting_copy)
    monkeypatch.setattr("hashlib.md5", None)  # opaque ETags never need it
    first = conn.upload_file("bucket", "k", source)
    second = conn.upload_file("bucket", "k", source)
    assert first.etag != second.etag
    assert conn.head("bucket", "k").etag == second.etag
    assert sum(copies) == 2 * source.stat().st_size  # both uploads copied in the kernel
    target = tmp_path / "out.bin"
    conn.download_file("bucket", "k", target)
    assert target.read_bytes() == source.read_bytes()


def test_an_unknown_etag_kind_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(s3po.ConfigError, match="etag must be one of"):
        LocalBackend(tmp_path, etag="sha1")


def test_file_windows_are_stored_where_copy_file_range_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole-file puts, parts and the join fall back to reads and writes, bytes intact."""

    def unsupported(*_args: object) -> int:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", unsupported)
    chunk = s3po.ChunkConfig(threshold=100_000, part_size=64 * 1024)
    conn = s3po.Connection(
        LocalBackend(tmp_path / "store", min_part_size=64 * 1024),
        config=s3po.TransferConfig(chunk=chunk),
    )
    for name, size in (("small", 50_000), ("large", 300_000)):
        source = tmp_path / name
        source.write_bytes(os.urandom(size))
        result = conn.upload_file("bucket", name, source)
        assert result.multipart == (size > 100_000)
        assert conn.download_bytes("bucket", name) == source.read_bytes()


def test_an_upload_being_started_is_listed_only_as_cut_off_until_its_record_is_written(
    local_backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A listing from another process can run between the folder's creation and its record's
    # commit. It must not list the upload under its key (whose parts would then be refused
    # as NoSuchUpload); it lists the folder as cut off, for cleanup to judge by its age.
    local_backend.create_bucket("bucket")
    seen: list[list[s3po.MultipartUpload]] = []
    real = _parts.commit  # type: ignore[attr-defined]

    def listing_first(*args: object, **kwargs: object) -> None:
        seen.append(list(local_backend.list_multipart("bucket")))
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_parts, "commit", listing_first)
    upload_id = local_backend.start_multipart("bucket", "k", headers=s3po.Headers())
    monkeypatch.undo()

    assert [(u.key, u.upload_id) for u in seen[0]] == [(".s3po/uploads/" + upload_id, upload_id)]
    (listed,) = local_backend.list_multipart("bucket")
    assert (listed.key, listed.upload_id) == ("k", upload_id)
    assert list(local_backend.list_parts("bucket", "k", upload_id)) == []
