"""``s3po check SRC DST``: differences by stored checksums, without downloading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from s3po_local import LocalBackend

import s3po
from s3po._cli.common import Local, Remote
from s3po._cli.compare import same_content
from s3po._cli.plan import Entry


class CountingGets(s3po.ForwardingBackend):
    """Counts GETs (check must not download)."""

    gets = 0

    def get(self, bucket: str, key: str, **kwargs: Any) -> s3po.GetResult:
        CountingGets.gets += 1
        return super().get(bucket, key, **kwargs)


def _tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def test_equal_tree_exits_0(cli: Any, tmp_path: Path) -> None:
    """A tree uploaded with cp -r checks equal: checksums (one compressed), exit 0."""
    _tree(tmp_path / "d", {"a.txt": b"alpha", "sub/b.bin": bytes(range(256)) * 50})
    cli("cp", "-r", "d", "s3://bkt/d/", check=0)
    cli("cp", "--compress", "gzip", "d/a.txt", "s3://bkt/d/a.txt", check=0)
    result = cli("check", "d", "s3://bkt/d/", check=0)
    assert result.stdout.decode().strip() == "2 equal, 0 differ, 0 missing on DST, 0 missing on SRC"


def test_differences_exit_1(cli: Any, tmp_path: Path, store: Path) -> None:
    """Missing on either side and same-size different content are each reported; exit 1."""
    _tree(tmp_path / "d", {"same.txt": b"same", "changed.txt": b"one", "local-only.txt": b"x"})
    with s3po.Connection(backend="local", root=store) as conn:
        conn.upload_string("bkt", "d/same.txt", b"same")
        conn.upload_string("bkt", "d/changed.txt", b"two")  # same size, other bytes
        conn.upload_string("bkt", "d/remote-only.txt", b"y")
    result = cli("check", "d", "s3://bkt/d/", check=1)
    lines = result.stdout.decode().splitlines()
    assert lines == [
        "differ: changed.txt",
        "missing on DST: local-only.txt",
        "missing on SRC: remote-only.txt",
        "1 equal, 1 differ, 1 missing on DST, 1 missing on SRC",
    ]
    listed = cli("--json", "check", "s3://bkt/d/", "d", check=1).stdout.decode().splitlines()
    records = [json.loads(line) for line in listed]
    assert {"path": "remote-only.txt", "status": "missing_on_dst"} in records


def test_plain_etag_and_no_download(tmp_path: Path) -> None:
    """An object with no s3po checksum is compared by its MD5 ETag; nothing is read."""
    backend = CountingGets(LocalBackend(tmp_path / "store"))
    backend.put("bkt", "k", b"hello", headers=s3po.Headers())  # no s3po metadata
    info = backend.head("bkt", "k")
    (tmp_path / "k").write_bytes(b"hello")
    (tmp_path / "j").write_bytes(b"HELLO")
    remote = Entry(Remote("bkt", "k"), 5, None, 5, info)
    assert same_content(Entry(Local(tmp_path / "k", "k"), 5, None, 5), remote) is True
    assert same_content(Entry(Local(tmp_path / "j", "j"), 5, None, 5), remote) is False
    assert CountingGets.gets == 0
