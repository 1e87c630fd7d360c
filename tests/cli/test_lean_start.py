"""The CLI starts lean: no boto3 or asyncio for a copy that does not need them, and a batch
passes only the options that differ from the connection's (no per-file configuration)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from s3po._cli.run import Settings, _overrides


def test_a_local_copy_imports_neither_boto3_nor_asyncio(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"hello")
    (tmp_path / "store" / "bkt").mkdir(parents=True)
    script = textwrap.dedent(
        f"""
        import sys
        from s3po.cli import main
        status = main(["--root", {str(tmp_path / "store")!r}, "cp", "-q",
                       {str(tmp_path / "a.txt")!r}, "s3://bkt/a.txt"])
        assert status == 0, status
        print(" ".join(sorted(sys.modules)))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "s3po._cli.run" in loaded
    assert not loaded & {"boto3", "botocore", "asyncio", "s3po.client.aio"}


def test_only_a_codec_is_passed_per_call() -> None:
    assert _overrides(Settings(retries=3)) == {}
    assert _overrides(Settings(compress="gzip", retries=3)) == {"compress": "gzip"}
