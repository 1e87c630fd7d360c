"""The public namespace: __all__ sorted, complete and resolvable; version; py.typed."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import s3po
import s3po.errors

PACKAGE = Path(s3po.__file__).parent
REPO = PACKAGE.parent


def _isort_key(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical."""
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _names_defined_in_init() -> set[str]:
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("s3po"):
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in names if not n.startswith("_")}


def _type_checking_imports() -> dict[str, str]:
    """Each name the ``if TYPE_CHECKING:`` block of s3po/__init__.py imports, and from where."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    found: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            module = f"s3po.{alias.name}" if node.module == "s3po" else str(node.module)
            found[alias.asname or alias.name] = module
    return found


def test_lazy_exports_match_what_type_checkers_see() -> None:
    """The names resolved on first use come from the modules the TYPE_CHECKING block names."""
    where = {n: m for m, names in s3po._EXPORTS.items() for n in names}
    assert where == _type_checking_imports()
    assert set(where) | {"logger"} == set(s3po.__all__)


def test_import_s3po_imports_no_submodule_of_the_pipeline() -> None:
    script = "import sys, s3po; print(' '.join(m for m in sys.modules if m.startswith('s3po')))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert set(out.stdout.split()) == {"s3po", "s3po._lazy"}


def test_dir_lists_every_public_name_before_it_is_used() -> None:
    assert set(s3po.__all__) <= set(dir(s3po))


def test_all_is_sorted() -> None:
    assert s3po.__all__ == sorted(s3po.__all__, key=_isort_key)


def test_all_has_no_duplicates() -> None:
    assert len(s3po.__all__) == len(set(s3po.__all__))


def test_all_is_complete() -> None:
    assert _names_defined_in_init() - set(s3po.__all__) == set()


@pytest.mark.parametrize("name", s3po.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(s3po, name) is not None


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from s3po import *", namespace)  # noqa: S102
    assert set(namespace) - {"__builtins__"} == set(s3po.__all__)


def test_every_exception_is_exported() -> None:
    errors = {
        name
        for name, value in vars(s3po.errors).items()
        if inspect.isclass(value) and issubclass(value, BaseException)
        if value.__module__ == "s3po.errors" and not name.startswith("_")
    }
    assert errors
    assert errors - set(s3po.__all__) == set()
    for name in errors:
        assert issubclass(getattr(s3po, name), s3po.S3poError)


def test_version() -> None:
    from s3po._version import __version__  # noqa: PLC0415

    assert s3po.__version__ == __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?(a|b|rc|dev|post)\d*)*", s3po.__version__)


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = s3po.no_such_thing
    assert not hasattr(s3po, "no_such_thing")


def test_py_typed_is_in_the_source_tree() -> None:
    assert (PACKAGE / "py.typed").is_file()


def test_wheel_ships_py_typed_and_the_builtin_plugins(tmp_path: Path) -> None:
    pytest.importorskip("hatchling", reason="the test extra installs hatchling")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("s3po-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        files = set(archive.namelist())
        (entry_points,) = [n for n in files if n.endswith(".dist-info/entry_points.txt")]
        declared = archive.read(entry_points).decode()
    assert "s3po/py.typed" in files
    for module in (
        "s3po_local/__init__.py",
        "s3po_codecs/gzip.py",
        "s3po_codecs/zstd.py",
        "s3po_codecs/brotli.py",
    ):
        assert module in files
    group = declared.split("[s3po]", 1)[1].split("\n[", 1)[0]
    for line in ("local = s3po_local", "gzip = s3po_codecs.gzip", "zstd = s3po_codecs.zstd"):
        assert line in group
    assert not any(name.startswith(("tests/", ".venv/")) for name in files)
