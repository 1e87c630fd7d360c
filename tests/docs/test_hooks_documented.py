"""Every hook specification has its own heading in docs/plugin-hooks.md, and no stale ones."""

from __future__ import annotations

import re
from pathlib import Path

import pluggy

import s3po
from s3po import hookspecs

PAGE = Path(__file__).resolve().parents[2] / "docs" / "plugin-hooks.md"


def _hookspecs() -> set[str]:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return {name for name in dir(pm.hook) if name.startswith("s3po_")}


def _headings() -> set[str]:
    text = PAGE.read_text(encoding="utf-8")
    return set(re.findall(r"^#{2,3} `?(s3po_\w+)`?", text, flags=re.MULTILINE))


def test_every_hook_has_a_heading() -> None:
    specs = _hookspecs()
    assert specs, "no hook specifications found"
    missing = specs - _headings()
    assert not missing, f"docs/plugin-hooks.md needs a heading for: {sorted(missing)}"


def test_no_heading_for_a_hook_that_does_not_exist() -> None:
    stale = _headings() - _hookspecs()
    assert not stale, f"docs/plugin-hooks.md documents hooks s3po does not have: {sorted(stale)}"


def test_hookimpl_marker_is_public() -> None:
    assert s3po.hookimpl.project_name == hookspecs.PROJECT_NAME
