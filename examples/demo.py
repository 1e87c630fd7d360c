"""The main job on the embedded default: compress, upload, download and verify real files.

Runs on the local backend (no account, no server) and prints what it did. By default it
works in a fresh temporary folder (about 175 MB at its largest) and removes it at the end,
even when it fails; pass a folder as the first argument to keep the files, the store and
the downloads there to look at.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import s3po


def _make_files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    records = folder / "events.jsonl"
    with records.open("w", encoding="utf-8") as out:
        for i in range(600_000):
            out.write(json.dumps({"id": i, "kind": "click", "page": f"/p/{i % 97}"}) + "\n")
    notes = folder / "notes.txt"
    notes.write_text("s3po demo\n" * 1000, encoding="utf-8")
    return [records, notes]


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@contextlib.contextmanager
def _workspace(argv: list[str]) -> Iterator[Path]:
    """The folder given (kept), or a temporary one removed at the end, saying which."""
    if len(argv) > 1:
        root = Path(argv[1]).resolve()
        print(f"writing under {root} (kept)")
        yield root
        print(f"kept {_size(root):,} bytes under {root}; remove them with: rm -r {root}")
        return
    root = Path(tempfile.mkdtemp(prefix="s3po-demo-"))
    print(f"writing under {root} (a temporary folder, removed at the end)")
    try:
        yield root
        print(f"removing {root} ({_size(root):,} bytes); to keep the files, run:")
        print(f"  {os.path.relpath(sys.executable)} {argv[0]} FOLDER")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    """Upload files with each codec, download them back, and check every byte."""
    with _workspace(sys.argv) as root:
        _run(root)


def _run(root: Path) -> None:
    files = _make_files(root / "source")
    print(f"source files: {root / 'source'}; store: {root / 'store'} (local backend)")
    with s3po.Connection(backend="local", root=root / "store") as conn:
        conn.create_bucket("demo")
        for path in files:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            for codec in (None, "gzip", "zstd", "br"):
                key = f"{path.name}.{codec or 'raw'}"
                started = time.perf_counter()
                up = conn.uploadFile("demo", key, path, compress=codec)
                out = root / "downloads" / key
                conn.downloadFile("demo", key, out)
                seconds = time.perf_counter() - started
                same = hashlib.sha256(out.read_bytes()).hexdigest() == digest
                stored = up.stored_size or 0
                kind = "multipart" if up.multipart else "single"
                ratio = stored / max(up.size, 1)
                print(
                    f"{key:24} {up.size:>10,} B -> stored {stored:>10,} B "
                    f"({ratio:6.1%}) {kind:9} round trip {seconds * 1000:7.1f} ms  identical={same}"
                )
                if not same:
                    raise SystemExit(f"{key}: downloaded bytes differ")
        conn.uploadString("demo", "hello.txt", "some text", compress="gzip")
        text = conn.downloadString("demo", "hello.txt")
        info = conn.head("demo", "hello.txt")
        print(f"hello.txt: {text!r}, Content-Encoding: {info.headers.content_encoding}")
        print("objects:", ", ".join(conn.listNames("demo")))


if __name__ == "__main__":
    main()
