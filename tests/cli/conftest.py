"""Run the real ``s3po`` console script in a subprocess against the local backend."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Runner = Callable[..., subprocess.CompletedProcess[bytes]]


def s3po_command() -> list[str]:
    """The installed console script, else ``python -m s3po.cli``."""
    script = shutil.which("s3po", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "s3po.cli"]


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3PO_", "AWS_"))}
    env.update(COLUMNS="100", **extra)
    return env


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    root.mkdir()
    return root


@pytest.fixture
def cli(tmp_path: Path, store: Path) -> Runner:
    """``cli(*args, input=b"...")``: run in ``tmp_path`` on ``--backend local --root store``."""

    def run(
        *args: str,
        input: bytes | None = None,
        backend: bool = True,
        check: int | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        options = ["--backend", "local", "--root", str(store)] if backend else []
        result = subprocess.run(
            [*s3po_command(), *options, *args],
            input=input if input is not None else b"",
            capture_output=True,
            cwd=tmp_path,
            env=cli_env(**(env or {})),
            timeout=60,
            check=False,
        )
        if check is not None:
            assert result.returncode == check, (result.returncode, result.stderr.decode())
        return result

    return run


@pytest.fixture
def cli_env_for_tests() -> dict[str, str]:
    """The environment the CLI runs in: no S3PO_/AWS_ variables, 100 columns."""
    return cli_env(TERM="xterm-256color")


@pytest.fixture
def command() -> list[str]:
    """How to start the CLI."""
    return s3po_command()


@pytest.fixture
def snapshot() -> Callable[[Path], dict[str, tuple[str, int]]]:
    """``snapshot(root)``: every path under ``root`` with its content hash and mtime."""
    return _snapshot


@pytest.fixture
def make_tree() -> Callable[[Path, dict[str, bytes]], Path]:
    """``make_tree(root, {"a/b.txt": b"..."})``: write files under ``root``."""
    return _make_tree


def _snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every path under ``root`` with its content hash (files) and mtime."""
    found = {}
    for path in sorted(root.rglob("*")):
        st = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        found[path.relative_to(root).as_posix()] = (digest, st.st_mtime_ns)
    return found


def _make_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root
