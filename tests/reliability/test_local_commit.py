"""The local backend commits an object's body and its record as one unit.

Every test here is an attack on that promise: writers killed between every step, writers
and readers racing on one key, damaged records, symlinks out of the root, a full disk, a
source file rewritten mid-upload. Each checks the typed error and that nothing was lost or
left behind (a reader sees the old version or the new one whole; ``cleanup`` removes what a
crash left).
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from s3po_local import LocalBackend

import s3po
from s3po.testing import multipart_etag

_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
_XATTR = "user.s3po"


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag is an MD5


def _staging(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".s3po-tmp-")]


def _check_whole(
    backend: LocalBackend,
    bucket: str,
    key: str,
    versions: dict[str, bytes],
    etags: dict[str, str] | None = None,
) -> str:
    """Assert head, get and list agree on one whole version of ``key``; return its name.

    ``etags`` gives a version's ETag where it is not the MD5 of its body (multipart).
    """
    info = backend.head(bucket, key)
    with backend.get(bucket, key) as result:
        body = result.body.readall()
    version = result.info.headers.metadata["v"]
    assert body == versions[version], f"the body is not version {version}'s"
    assert result.info.etag == info.etag == (etags or {}).get(version, _md5(body))
    assert result.info.size == info.size == len(body)
    listed = [e for e in backend.list(bucket) if isinstance(e, s3po.ObjectInfo) and e.key == key]
    assert [e.etag for e in listed] == [info.etag]
    return version


# -- crash injection -----------------------------------------------------------------------

#: Runs one write with every os-level step it makes counted; exits hard before step
#: ``kill_at`` (0: run to the end and print how many steps there were).
_CRASHER = textwrap.dedent(
    """
    import os, sys
    import s3po
    from s3po_local import LocalBackend

    root, scenario, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    backend = LocalBackend(root, min_part_size=64 * 1024)
    data = bytes([7]) * (3 * 1024 * 1024 + 5)
    headers = s3po.Headers(metadata={"v": "new"})
    if scenario == "sidecar":
        headers = s3po.Headers(metadata={"v": "new", "pad": "x" * 3900})
    source = os.open(os.path.join(root, "..", "source.bin"), os.O_RDONLY)
    window = s3po.FileWindow(source, 0, os.fstat(source).st_size)
    steps = 0

    def counted(name):
        real = getattr(os, name)
        def step(*args, **kwargs):
            global steps
            steps += 1
            if steps == kill_at:
                os._exit(99)
            return real(*args, **kwargs)
        setattr(os, name, step)

    for name in ("open", "write", "pwrite", "copy_file_range", "setxattr", "fsync",
                 "replace", "rename", "unlink", "mkdir", "rmdir", "close"):
        counted(name)
    if scenario in ("put", "sidecar"):
        backend.put("bkt", "dir/k", data, headers=headers)
    elif scenario == "window":
        backend.put("bkt", "dir/k", window, headers=headers)
    elif scenario == "multipart":
        upload = backend.start_multipart("bkt", "dir/k", headers=headers)
        part_size = 64 * 1024
        parts = [
            backend.put_part("bkt", "dir/k", upload, 1, data[:part_size]),
            backend.put_part("bkt", "dir/k", upload, 2, s3po.FileWindow(source, part_size, 4096)),
        ]
        backend.complete_multipart("bkt", "dir/k", upload, parts)
    print(steps)
    """
)


def _crash(
    root: Path, script: Path, scenario: str, kill_at: int
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), str(root), scenario, str(kill_at)],
        env=_ENV,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("scenario", ["put", "window", "multipart", "sidecar"])
def test_a_writer_killed_at_any_step_leaves_the_old_or_the_new_version_whole(
    tmp_path: Path, scenario: str
) -> None:
    """Kill the writer before each of its os-level steps; the key is always whole."""
    script = tmp_path / "crasher.py"
    script.write_text(_CRASHER)
    data = bytes([7]) * (3 * 1024 * 1024 + 5)
    source = data[: 64 * 1024] + bytes([7]) * 4096 if scenario == "multipart" else data
    (tmp_path / "source.bin").write_bytes(source)
    root = tmp_path / "store"
    old = b"the old version\n" * 1000
    old_headers = s3po.Headers(metadata={"v": "old"})
    if scenario == "sidecar":
        old_headers = s3po.Headers(metadata={"v": "old", "pad": "y" * 3900})
    etags = {}
    if scenario == "multipart":
        etags["new"] = multipart_etag([source[: 64 * 1024], source[64 * 1024 :]])
    LocalBackend(root).put("bkt", "dir/k", old, headers=old_headers)
    finished = _crash(root, script, scenario, 0)
    assert finished.returncode == 0, finished.stderr
    assert (
        _check_whole(LocalBackend(root), "bkt", "dir/k", {"old": old, "new": source}, etags)
        == "new"
    )
    seen = set()
    for kill_at in range(1, 200):  # until the writer gets through every step
        LocalBackend(root).put("bkt", "dir/k", old, headers=old_headers)
        run = _crash(root, script, scenario, kill_at)
        assert run.returncode in {0, 99}, (kill_at, run.stderr)
        if run.returncode == 0:
            break
        backend = LocalBackend(root)
        seen.add(_check_whole(backend, "bkt", "dir/k", {"old": old, "new": source}, etags))
        with s3po.Connection(backend) as conn:
            conn.cleanup("bkt")
        assert _staging(root) == [], kill_at
        assert list(backend.list_multipart("bkt")) == []
        assert _check_whole(backend, "bkt", "dir/k", {"old": old, "new": source}, etags) in seen
        if scenario == "sidecar":  # the live version's record file, none left over
            assert len(list((root / ".s3po" / "records" / "bkt").iterdir())) == 1, kill_at
    else:
        pytest.fail("the writer never finished")
    assert kill_at > 10
    assert seen == {"old", "new"}


# -- concurrency -----------------------------------------------------------------------------

_RACER = textwrap.dedent(
    """
    import hashlib, json, os, random, sys
    import s3po
    from s3po_local import LocalBackend

    root, role, me, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    backend = LocalBackend(root, fsync=False)
    rng = random.Random(me)
    report = {"reads": 0, "bad": [], "errors": [], "last": None}
    for n in range(rounds):
        if role == "writer":
            tag = f"{me}:{n}"
            body = tag.encode() + b"|" + rng.randbytes(rng.randrange(1, 200_000))
            backend.put("bkt", "k", body, headers=s3po.Headers(metadata={"v": tag}))
            report["last"] = tag
            continue
        try:
            with backend.get("bkt", "k") as result:
                body = result.body.readall()
        except s3po.S3poError as exc:
            report["errors"].append(repr(exc))
            continue
        report["reads"] += 1
        tag = result.info.headers.metadata["v"]
        whole = hashlib.md5(body).hexdigest() == result.info.etag
        if not whole or not body.startswith(tag.encode() + b"|"):
            report["bad"].append(tag)
    print(json.dumps(report))
    """
)


def test_racing_writers_and_readers_see_only_whole_versions(tmp_path: Path) -> None:
    """4 writers and 2 readers on one key: every read is one version, body and record."""
    script = tmp_path / "racer.py"
    script.write_text(_RACER)
    root = tmp_path / "store"
    LocalBackend(root).put("bkt", "k", b"seed|", headers=s3po.Headers(metadata={"v": "seed"}))
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(root), role, f"{role}{i}", str(rounds)],
            env=_ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role, count, rounds in (("writer", 4, 150), ("reader", 2, 400))
        for i in range(count)
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        reports.append(json.loads(out))
    readers = reports[4:]
    assert all(r["reads"] > 0 for r in readers)
    assert [r["bad"] for r in readers] == [[], []]
    assert [r["errors"] for r in readers] == [[], []]
    backend = LocalBackend(root)
    with backend.get("bkt", "k") as result:
        body = result.body.readall()
    tag = result.info.headers.metadata["v"]
    assert tag in {r["last"] for r in reports[:4]}  # one writer's last put, whole
    assert body.startswith(tag.encode() + b"|")
    assert _md5(body) == result.info.etag == backend.head("bkt", "k").etag
    assert _staging(root) == []


def test_put_and_delete_racing_in_one_folder_raise_nothing_raw(tmp_path: Path) -> None:
    """A delete removing a folder while a put creates its staging file there is no error."""
    backend = LocalBackend(tmp_path / "store", fsync=False)
    errors: list[BaseException] = []

    def loop(action: str) -> None:
        try:
            for n in range(400):
                if action == "put":
                    backend.put("bkt", "d/e/one", b"x" * (n % 7), headers=s3po.Headers())
                else:
                    backend.put("bkt", "d/e/two", b"y", headers=s3po.Headers())
                    backend.delete("bkt", "d/e/two")
                    backend.delete("bkt", "d/e/one")
        except BaseException as exc:  # noqa: BLE001 - collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(a,)) for a in ("put", "delete", "delete")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _staging(tmp_path / "store") == []


# -- damaged records -----------------------------------------------------------------------


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"size": 1}', b"[]"])
def test_a_damaged_record_breaks_only_its_key(
    local_backend: LocalBackend, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Power loss can leave an empty record: that key is CorruptData, the bucket still works."""
    local_backend.put("bucket", "a", b"fine", headers=s3po.Headers())
    local_backend.put("bucket", "bad", b"damaged", headers=s3po.Headers())
    local_backend.put("bucket", "z", b"fine too", headers=s3po.Headers())
    os.setxattr(local_backend.root / "bucket" / "bad", _XATTR, damage)
    with pytest.raises(s3po.CorruptData, match="bad"):
        local_backend.head("bucket", "bad")
    with pytest.raises(s3po.CorruptData, match="bad"):
        local_backend.get("bucket", "bad")
    with caplog.at_level(logging.WARNING):
        listed = {e.key: e for e in local_backend.list("bucket") if isinstance(e, s3po.ObjectInfo)}
    assert sorted(listed) == ["a", "bad", "z"]
    assert listed["bad"].size == len(b"damaged")
    assert listed["bad"].etag == ""  # unknown: a sync replaces it
    assert "damaged" in caplog.text
    assert local_backend.head("bucket", "a").size == len(b"fine")
    local_backend.put("bucket", "bad", b"repaired", headers=s3po.Headers())
    with local_backend.get("bucket", "bad") as result:
        assert result.body.readall() == b"repaired"


def test_a_body_that_ends_early_is_transient(local_backend: LocalBackend) -> None:
    """A stored file cut short under an open body is a TransientError, never a short read."""
    local_backend.put("bucket", "k", b"x" * 100_000, headers=s3po.Headers())
    with local_backend.get("bucket", "k") as result:
        assert len(result.body.read(10)) == 10
        os.truncate(local_backend.root / "bucket" / "k", 50)
        with pytest.raises(s3po.TransientError, match="ended"):
            result.body.readall()


def test_a_record_that_disagrees_with_the_file_is_corrupt(local_backend: LocalBackend) -> None:
    local_backend.put("bucket", "k", b"x" * 100, headers=s3po.Headers())
    with (local_backend.root / "bucket" / "k").open("ab") as f:
        f.write(b"appended by hand")
    with pytest.raises(s3po.CorruptData, match="changed outside s3po"):
        local_backend.get("bucket", "k")


# -- old stores ----------------------------------------------------------------------------


def test_a_store_written_before_records_moved_into_xattrs_stays_readable(tmp_path: Path) -> None:
    """The JSON tree under root/.s3po/meta is read when a file has no record of its own."""
    root = tmp_path / "store"
    (root / "bkt" / "dir").mkdir(parents=True)
    (root / "bkt" / "dir" / "k").write_bytes(b"legacy")
    meta = root / ".s3po" / "meta" / "bkt" / "dir.d"
    meta.mkdir(parents=True)
    record = {
        "size": 6,
        "etag": _md5(b"legacy"),
        "last_modified": "2024-01-01T00:00:00+00:00",
        "headers": {"content_type": "text/plain", "metadata": {"v": "old"}, "extra": {}},
    }
    (meta / "k.json").write_text(json.dumps(record))
    backend = LocalBackend(root)
    assert _check_whole(backend, "bkt", "dir/k", {"old": b"legacy"}) == "old"
    assert backend.head("bkt", "dir/k").headers.content_type == "text/plain"
    (meta / "k.json").write_text("")  # a legacy record cut short: typed, and only that key
    with pytest.raises(s3po.CorruptData):
        backend.head("bkt", "dir/k")
    backend.put("bkt", "dir/k", b"new", headers=s3po.Headers(metadata={"v": "new"}))
    assert _check_whole(backend, "bkt", "dir/k", {"new": b"new"}) == "new"
    backend.delete("bkt", "dir/k")
    assert not (meta / "k.json").exists()
    with pytest.raises(s3po.NoSuchKey):
        backend.head("bkt", "dir/k")


# -- large records -------------------------------------------------------------------------


def test_records_too_large_for_an_xattr_go_to_one_immutable_file(
    local_backend: LocalBackend,
) -> None:
    records = local_backend.root / ".s3po" / "records" / "bucket"
    big = s3po.Headers(content_type="text/plain", metadata={"v": "1", "pad": "p" * 5000})
    local_backend.put("bucket", "k", b"one", headers=big)
    assert len(list(records.iterdir())) == 1
    info = local_backend.head("bucket", "k")
    assert info.headers.metadata == big.metadata
    with local_backend.get("bucket", "k") as result:
        assert result.body.readall() == b"one"
    local_backend.put("bucket", "k", b"two", headers=big)  # the old version's record goes
    assert len(list(records.iterdir())) == 1
    local_backend.put("bucket", "k", b"small", headers=s3po.Headers())
    assert list(records.iterdir()) == []
    local_backend.put("bucket", "k", b"again", headers=big)
    local_backend.delete("bucket", "k")
    assert list(records.iterdir()) == []


# -- sandbox -------------------------------------------------------------------------------


def test_a_bucket_folder_linked_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_bytes(b"keep me")
    root = tmp_path / "store"
    root.mkdir()
    (root / "evil").symlink_to(outside)
    backend = LocalBackend(root)
    refused = (s3po.InvalidKey, s3po.AccessDenied)
    with pytest.raises(refused):
        backend.put("evil", "new", b"x", headers=s3po.Headers())
    with pytest.raises(refused):
        backend.put("evil", "victim", b"x", headers=s3po.Headers())
    with pytest.raises(refused):
        backend.delete("evil", "victim")
    with pytest.raises(refused):
        backend.head("evil", "victim")
    with pytest.raises(refused):
        backend.start_multipart("evil", "new", headers=s3po.Headers())
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert (outside / "victim").read_bytes() == b"keep me"


def test_a_folder_inside_a_bucket_linked_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "store"
    (root / "bkt").mkdir(parents=True)
    (root / "bkt" / "sub").symlink_to(outside)
    backend = LocalBackend(root)
    with pytest.raises((s3po.InvalidKey, s3po.AccessDenied)):
        backend.put("bkt", "sub/new", b"x", headers=s3po.Headers())
    assert list(outside.iterdir()) == []


def test_a_metadata_folder_linked_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "store"
    root.mkdir()
    (root / ".s3po").symlink_to(outside)
    backend = LocalBackend(root)
    refused = (s3po.InvalidKey, s3po.AccessDenied)
    with pytest.raises(refused):
        backend.start_multipart("bkt", "k", headers=s3po.Headers())
    with pytest.raises(refused):
        backend.put("bkt", "k", b"x", headers=s3po.Headers(metadata={"pad": "p" * 5000}))
    assert list(outside.iterdir()) == []


def test_a_file_symlink_inside_a_bucket_does_not_break_its_listing(
    local_backend: LocalBackend, tmp_path: Path
) -> None:
    outside = tmp_path / "secret"
    outside.write_bytes(b"secret")
    local_backend.put("bucket", "a", b"x", headers=s3po.Headers())
    local_backend.put("bucket", "c", b"x", headers=s3po.Headers())
    os.setxattr(outside, _XATTR, os.getxattr(local_backend.root / "bucket" / "a", _XATTR))
    base = local_backend.root / "bucket"
    (base / "b-link").symlink_to(outside)
    (base / "b-dangling").symlink_to(tmp_path / "nowhere")
    (base / "b-loop").symlink_to(base / "b-loop")
    keys = [e.key for e in local_backend.list("bucket") if isinstance(e, s3po.ObjectInfo)]
    assert keys == ["a", "c"]
    with pytest.raises((s3po.NoSuchKey, s3po.InvalidKey, s3po.AccessDenied)):
        local_backend.get("bucket", "b-link")


# -- write failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "code"),
    [
        ("pwrite", errno.ENOSPC),
        ("fsync", errno.EIO),
        ("replace", errno.EROFS),
        ("open", errno.EDQUOT),
    ],
)
def test_a_failing_disk_is_a_typed_error_and_leaves_the_old_version(
    local_backend: LocalBackend, monkeypatch: pytest.MonkeyPatch, call: str, code: int
) -> None:
    local_backend.put("bucket", "d/k", b"old", headers=s3po.Headers(metadata={"v": "old"}))

    def failing(*_args: object, **_kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, call, failing)
    with pytest.raises(s3po.BackendError) as caught:
        local_backend.put("bucket", "d/k", b"new" * 1000, headers=s3po.Headers())
    monkeypatch.undo()
    assert caught.value.key == "d/k"
    assert caught.value.bucket == "bucket"
    assert os.strerror(code) in str(caught.value)
    assert str(local_backend.root / "bucket" / "d") in str(caught.value)
    assert _check_whole(local_backend, "bucket", "d/k", {"old": b"old"}) == "old"
    assert _staging(local_backend.root) == []


def test_a_source_rewritten_during_a_kernel_copy_is_never_committed(
    local_backend: LocalBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_backend.put("bucket", "k", b"old", headers=s3po.Headers(metadata={"v": "old"}))
    source = tmp_path / "source.bin"
    source.write_bytes(b"a" * 100_000)
    real_copy = os.copy_file_range

    def copy_then_rewrite(*args: int) -> int:
        n = real_copy(*args)
        with source.open("r+b") as f:
            f.write(b"bkt")
        return n

    def put(window: s3po.FileWindow) -> None:
        local_backend.put("bucket", "k", window, headers=s3po.Headers())

    def put_part(window: s3po.FileWindow) -> None:
        upload = local_backend.start_multipart("bucket", "k", headers=s3po.Headers())
        try:
            local_backend.put_part("bucket", "k", upload, 1, window)
        finally:
            local_backend.abort_multipart("bucket", "k", upload)

    for store in (put, put_part):
        with source.open("rb") as f:
            window = s3po.FileWindow(f.fileno(), 0, 100_000, path=str(source))
            monkeypatch.setattr(os, "copy_file_range", copy_then_rewrite)
            with pytest.raises(s3po.SourceChanged):
                store(window)
            monkeypatch.undo()
    assert _check_whole(local_backend, "bucket", "k", {"old": b"old"}) == "old"
    assert _staging(local_backend.root) == []


def test_a_filesystem_without_xattrs_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOTSUP, os.strerror(errno.ENOTSUP))

    monkeypatch.setattr(os, "getxattr", unsupported)
    with pytest.raises(s3po.ConfigError, match="extended attributes"):
        LocalBackend(tmp_path / "store")
    assert list((tmp_path / "store").iterdir()) == []


def test_cleanup_removes_staging_files_a_crash_left(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "store")
    backend.put("bkt", "dir/k", b"kept", headers=s3po.Headers())
    (tmp_path / "store" / "bkt" / "dir" / ".s3po-tmp-0123abcd").write_bytes(b"half a wri")
    (tmp_path / "store" / "bkt" / ".s3po-tmp-fedc").write_bytes(b"")
    listed = list(backend.list_multipart("bkt"))
    assert {u.key for u in listed} == {"dir/.s3po-tmp-0123abcd", ".s3po-tmp-fedc"}
    assert [e.key for e in backend.list("bkt") if isinstance(e, s3po.ObjectInfo)] == ["dir/k"]
    with s3po.Connection(backend) as conn:
        conn.cleanup("bkt")
    assert _staging(tmp_path / "store") == []
    assert backend.head("bkt", "dir/k").size == len(b"kept")


def test_the_cleanup_command_removes_old_staging_files_and_keeps_fresh_ones(
    tmp_path: Path,
) -> None:
    """``s3po cleanup --older-than`` spares a staging file a write may still be filling."""
    root = tmp_path / "store"
    backend = LocalBackend(root)
    backend.put("bkt", "dir/k", b"kept", headers=s3po.Headers())
    old = root / "bkt" / "dir" / ".s3po-tmp-00aa"
    old.write_bytes(b"a crashed write")
    os.utime(old, (1_000_000_000, 1_000_000_000))
    fresh = root / "bkt" / ".s3po-tmp-11bb"
    fresh.write_bytes(b"a write going on")
    command = [sys.executable, "-m", "s3po.cli", "--backend", "local", "--root", str(root)]
    result = subprocess.run(
        [*command, "cleanup", "s3://bkt", "--older-than", "1d"],
        env=_ENV,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("abort: s3://bkt/dir/.s3po-tmp-00aa (upload staging00aa")
    assert not old.exists()
    assert fresh.exists()
    assert backend.head("bkt", "dir/k").size == len(b"kept")


def test_a_link_at_a_key_is_replaced_or_removed_never_followed(
    local_backend: LocalBackend, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me")
    link = local_backend.root / "bucket" / "link"
    link.symlink_to(victim)
    local_backend.delete("bucket", "link")
    assert not link.is_symlink()
    link.symlink_to(victim)
    local_backend.put("bucket", "link", b"object", headers=s3po.Headers())
    assert not link.is_symlink()
    assert victim.read_bytes() == b"keep me"
    with local_backend.get("bucket", "link") as result:
        assert result.body.readall() == b"object"
