"""Public names a package imports on first use (PEP 562), so importing it stays cheap.

A package keeps its real imports under ``if TYPE_CHECKING:`` (for type checkers and IDEs),
says where each public name lives, and hands its module ``__getattr__`` and ``__dir__`` to
:func:`resolve` and :func:`listing`::

    if TYPE_CHECKING:
        from s3po.errors import S3poError

    _WHERE = {"S3poError": "s3po.errors"}

    def __getattr__(name: str) -> Any:
        return resolve(__name__, _WHERE, name)

``import s3po`` then imports nothing of the pipeline; ``s3po.Connection`` imports the client
on first use and stores the name in the package, so the next use is a plain attribute
lookup. A name that maps to ``package.name`` is that submodule itself.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Mapping

__all__ = ["invert", "listing", "resolve"]


def invert(exports: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """``{module: names}`` turned into ``{name: module}``."""
    return {name: module for module, names in exports.items() for name in names}


def resolve(package: str, where: Mapping[str, str], name: str) -> object:
    """Import ``name`` of ``package`` from the module ``where`` names, and keep it there.

    Raises:
        AttributeError: ``package`` has no public name ``name``.
    """
    module_name = where.get(name)
    if module_name is None:
        msg = f"module {package!r} has no attribute {name!r}"
        raise AttributeError(msg)
    module = importlib.import_module(module_name)
    value = module if module_name == f"{package}.{name}" else getattr(module, name)
    setattr(sys.modules[package], name, value)
    return value


def listing(package: str, public: Iterable[str]) -> list[str]:
    """What ``dir(package)`` shows: what it holds now, and every public name."""
    return sorted(set(vars(sys.modules[package])) | set(public))
