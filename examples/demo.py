"""The main job on the embedded default: compress, upload, download and verify real files.

Runs on the local backend (no account, no server) under a fresh folder, and prints what it
did. Pass a folder as the first argument to keep the store somewhere you can look at it.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
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


def main() -> None:
    """Upload files with each codec, download them back, and check every byte."""
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="s3po-demo-"))
    files = _make_files(root / "source")
    print(f"store: {root / 'store'} (local backend)")
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
