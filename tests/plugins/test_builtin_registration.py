"""The built-in plugins are registered by name; the entry-point scan runs only for others."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import distribution
from typing import TYPE_CHECKING

import pytest

import s3po
from s3po import plugins
from s3po.plugins import BUILTIN_PLUGINS, DISABLE_ENV

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(autouse=True)
def no_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DISABLE_ENV, raising=False)


def test_builtin_plugins_are_the_entry_points_s3po_declares() -> None:
    declared = {ep.name: ep.value for ep in distribution("s3po").entry_points.select(group="s3po")}
    assert declared == BUILTIN_PLUGINS


def test_only_the_builtins_need_no_scan() -> None:
    """In a fresh interpreter, and after the libraries that add finders of their own."""
    script = (
        "import sys\n"
        "from s3po import plugins\n"
        "before = plugins._other_entry_points()\n"
        "import dask.distributed  # adds importlib_metadata's finder to sys.meta_path\n"
        "print(before, plugins._other_entry_points())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def _fake_distribution(site: Path, body: str) -> None:
    """A distribution of a plugin module ``s3po_fake_ep`` declaring ``fake-ep`` in group s3po."""
    info = site / "s3po_fake_ep-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: s3po-fake-ep\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[console_scripts]\nfake = s3po_fake_ep:main\n\n[s3po]\nfake-ep = s3po_fake_ep\n"
    )
    (site / "s3po_fake_ep.py").write_text(textwrap.dedent(body))


def test_a_third_party_entry_point_is_found_and_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_distribution(
        tmp_path,
        """
        import s3po

        @s3po.hookimpl
        def s3po_register_codecs(registry):
            registry.register("x-fake", "s3po_fake_ep:Codec")
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "s3po_fake_ep", raising=False)
    assert plugins._other_entry_points()
    pm = s3po.make_plugin_manager()
    assert pm.get_plugin("fake-ep") is not None
    assert pm.get_plugin("gzip") is not None
    assert "x-fake" in s3po.Registries(pm).codecs
    monkeypatch.setenv(DISABLE_ENV, "fake-ep,gzip")
    blocked = s3po.make_plugin_manager()
    assert blocked.is_blocked("fake-ep")
    assert blocked.get_plugin("fake-ep") is None
    assert blocked.get_plugin("gzip") is None
    assert "x-fake" not in s3po.Registries(blocked).codecs
    monkeypatch.delitem(sys.modules, "s3po_fake_ep", raising=False)


def test_an_entry_point_repeating_a_builtin_line_needs_no_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "copy-1.0.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_text("[s3po]\ngzip=s3po_codecs.gzip\n\n[other]\nx = y\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert not plugins._other_entry_points()


def test_a_zip_on_sys_path_means_a_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "bundle.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip file
    monkeypatch.syspath_prepend(str(archive))
    assert plugins._other_entry_points()


def test_a_fresh_manager_reads_no_distribution_metadata() -> None:
    """Without third-party plugins, importlib.metadata (tens of ms) is not even imported."""
    script = (
        "import sys, s3po\n"
        "s3po.Registries(s3po.make_plugin_manager())\n"
        "print('importlib.metadata' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
