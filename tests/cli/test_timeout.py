"""``--timeout SECONDS``: an overall deadline per transfer, even in the middle of a body."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _stalls() -> ModuleType:
    """The loopback servers of tests/reliability/test_stalls.py, imported by path."""
    name = "s3po_test_stalls"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "reliability" / "test_stalls.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.mark.timeout(60)
def test_timeout_ends_a_trickling_download(cli: Any, tmp_path: Path) -> None:
    keys = {"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret"}
    with _stalls().serving("trickle", interval=0.05) as server:
        started = time.monotonic()
        result = cli(
            "--endpoint-url", server.url, "--timeout", "2", "cp", "s3://bucket/key", "out.bin",
            backend=False,
            env={**keys, "AWS_DEFAULT_REGION": "us-east-1"},
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr.decode()
    assert "deadline" in result.stderr.decode()
    assert elapsed < 30
    assert not (tmp_path / "out.bin").exists()


@pytest.mark.parametrize("value", ["0", "-3", "soon", "inf"])
def test_timeout_must_be_positive_seconds(cli: Any, value: str) -> None:
    result = cli("--timeout", value, "ls", "s3://bucket/", check=2)
    assert "positive number of seconds" in result.stderr.decode()


def test_timeout_is_in_the_help(cli: Any) -> None:
    assert "--timeout SECONDS" in cli("--help", check=0).stdout.decode()
