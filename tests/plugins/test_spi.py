"""The SPI module for plugin authors, and the rule that plugins import only public names."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import s3po
import s3po.backend
from s3po.backend import contract

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def _isort_key(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then functions and modules."""
    if name.isupper():
        return 0, name
    return (1 if name[0].isupper() else 2), name


def test_spi_all_is_sorted_and_importable() -> None:
    assert s3po.backend.__all__ == sorted(s3po.backend.__all__, key=_isort_key)
    for name in s3po.backend.__all__:
        assert getattr(s3po.backend, name) is not None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("s3po._types", "s3po.backend"),
        ("s3po.emulation", "s3po.backend.emulation"),
        ("s3po.testing", "s3po.backend.testing"),
    ],
)
def test_old_modules_re_export_the_same_objects(old: str, new: str) -> None:
    module = importlib.import_module(old)
    target = importlib.import_module(new)
    for name in module.__all__:
        assert getattr(module, name) is getattr(target, name), name


def test_user_api_and_spi_share_the_objects() -> None:
    shared = set(s3po.__all__) & set(s3po.backend.__all__)
    assert {"Backend", "ForwardingBackend", "Headers", "ObjectInfo", "emulation"} <= shared
    for name in shared - {"emulation"}:  # s3po.emulation is the re-exporting module
        assert getattr(s3po, name) is getattr(s3po.backend, name), name


def test_backend_contract_is_every_mixin() -> None:
    mixins = {
        contract.ObjectsContract,
        contract.ListingContract,
        contract.MultipartContract,
        contract.ConcurrencyContract,
        contract.CutOffBodyContract,
        contract.ConditionalWritesContract,
    }
    assert mixins <= set(contract.BackendContract.__mro__)
    tests = {n for n in dir(contract.BackendContract) if n.startswith("test_")}
    by_mixin = [{n for n in vars(m) if n.startswith("test_")} for m in mixins]
    assert set().union(*by_mixin) == tests
    assert sum(map(len, by_mixin)) == len(tests)  # each test belongs to one feature


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize(
    "path", sorted(PLUGINS.glob("s3po_*/*.py")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_plugins_import_only_public_names(path: Path) -> None:
    own = path.parent.name
    for module in _imports(path):
        parts = module.split(".")
        if parts[0] == "s3po":
            assert not any(p.startswith("_") for p in parts), f"{path}: imports {module}"
        elif parts[0].startswith("s3po_") and parts[0] != own:
            assert not any(p.startswith("_") for p in parts[1:]), f"{path}: imports {module}"
