"""``s3po cp --no-clobber``: skip what exists at the destination, say so, exit 0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import s3po


def conn_for(store: Path) -> s3po.Connection:
    return s3po.Connection(backend="local", root=store)


def test_upload_keeps_existing_objects(cli: Any, tmp_path: Path, store: Path) -> None:
    """An existing key is kept (If-None-Match: * at the store), a new one is written."""
    with conn_for(store) as conn:
        kept = conn.upload_string("bkt", "docs/a.txt", "old")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_bytes(b"new a")
    (tmp_path / "docs" / "b.txt").write_bytes(b"new b")
    result = cli("cp", "--no-clobber", "-r", "docs", "s3://bkt/docs/", check=0)
    out = result.stdout.decode()
    assert "skip (exists): docs/a.txt -> s3://bkt/docs/a.txt" in out
    assert "upload: docs/b.txt -> s3://bkt/docs/b.txt" in out
    with conn_for(store) as conn:
        assert conn.head("bkt", "docs/a.txt").etag == kept.etag
        assert conn.download_bytes("bkt", "docs/b.txt") == b"new b"
    single = cli("cp", "--no-clobber", "docs/a.txt", "s3://bkt/docs/a.txt", check=0)
    assert single.stdout.decode().startswith("skip (exists): ")


def test_download_and_copy_keep_existing(cli: Any, tmp_path: Path, store: Path) -> None:
    """A local file and a destination object that exist are not replaced."""
    with conn_for(store) as conn:
        conn.upload_string("bkt", "k.txt", "remote")
        conn.upload_string("bkt", "copy.txt", "already")
    (tmp_path / "k.txt").write_bytes(b"local")
    down = cli("cp", "--no-clobber", "s3://bkt/k.txt", "k.txt", check=0)
    assert "skip (exists)" in down.stdout.decode()
    assert (tmp_path / "k.txt").read_bytes() == b"local"
    copy = cli("cp", "--no-clobber", "s3://bkt/k.txt", "s3://bkt/copy.txt", check=0)
    assert "skip (exists)" in copy.stdout.decode()
    with conn_for(store) as conn:
        assert conn.download_string("bkt", "copy.txt") == "already"


def test_no_clobber_json_record(cli: Any, tmp_path: Path, store: Path) -> None:
    """--json reports a skipped upload with status "exists"."""
    with conn_for(store) as conn:
        conn.upload_string("bkt", "a.txt", "old")
    (tmp_path / "a.txt").write_bytes(b"new")
    result = cli("--json", "cp", "--no-clobber", "a.txt", "s3://bkt/a.txt", check=0)
    assert '"status": "exists"' in result.stdout.decode()
