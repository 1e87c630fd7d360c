"""Plugin loading and the registries of backends and codecs.

:func:`make_plugin_manager` builds a fresh :class:`pluggy.PluginManager`: it adds the hook
specifications, registers the built-in plugins under their entry-point names, loads every
other plugin installed in the ``s3po`` entry-point group, skips names listed in the
``S3PO_DISABLE_PLUGINS`` environment variable, and checks that no hook is misspelled.

The built-in plugins are declared in the ``s3po`` group exactly as a third party's are, but
they are registered from :data:`BUILTIN_PLUGINS` without reading the installed
distributions: :mod:`importlib.metadata` costs tens of milliseconds per process, much of a
small command's start-up. The entry-point scan runs only when some installed distribution
declares an ``s3po`` entry point other than the built-ins (found by reading each
distribution's ``entry_points.txt``, about a millisecond), or when distributions may live
where that look cannot see (a zip file on ``sys.path``, a custom meta-path finder).
:class:`Registries` then asks the plugins to fill a :class:`BackendRegistry` and a
:class:`CodecRegistry`.

Nothing happens at import time and there is no global plugin manager: :func:`default_registries`
builds one on first use and caches it; tests and applications may build their own.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.machinery import PathFinder
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pluggy

from s3po import hookspecs
from s3po.errors import ConfigError, NotSupported, PluginError, UnknownBackend, UnknownCodec

if TYPE_CHECKING:
    from s3po._types import Backend
    from s3po.codecs import Codec

__all__ = [
    "BUILTIN_PLUGINS",
    "BackendRegistry",
    "CodecRegistry",
    "Registries",
    "default_registries",
    "make_plugin_manager",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Environment variable: comma-separated plugin (entry-point) names not to load.
DISABLE_ENV = "S3PO_DISABLE_PLUGINS"

#: The built-in plugins: the ``s3po`` entry points of s3po's own distribution (pyproject.toml
#: declares the same; tests/plugins checks that the two agree), registered by name.
#:
#: .. versionadded:: 0.4.0
BUILTIN_PLUGINS: dict[str, str] = {
    "local": "s3po_local",
    "s3": "s3po_s3",
    "fsspec": "s3po_fsspec",
    "obstore": "s3po_obstore",
    "gzip": "s3po_codecs.gzip",
    "zstd": "s3po_codecs.zstd",
    "br": "s3po_codecs.brotli",
    "deflate": "s3po_codecs.deflate",
    "memory": "s3po_memory",
}


def make_plugin_manager(
    *, load_entrypoints: bool = True, plugins: Iterable[object] = ()
) -> pluggy.PluginManager:
    """Build a plugin manager with s3po's hooks and the installed plugins.

    Args:
        load_entrypoints: Load plugins from the ``s3po`` entry-point group.
        plugins: Extra plugin objects (modules or instances) to register first.

    Raises:
        PluginError: A plugin failed to import or implements an unknown hook.

    .. versionadded:: 0.1.0
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for plugin in plugins:
        try:
            pm.register(plugin)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(f"plugin {plugin!r} cannot be registered: {exc}") from exc
    if load_entrypoints:
        for name in filter(None, (n.strip() for n in os.environ.get(DISABLE_ENV, "").split(","))):
            pm.set_blocked(name)
        try:
            for name, module in BUILTIN_PLUGINS.items():
                if not pm.is_blocked(name) and pm.get_plugin(name) is None:
                    pm.register(importlib.import_module(module), name=name)
            if _other_entry_points():
                # pluggy skips the names registered above, and the blocked ones.
                pm.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
        except Exception as exc:
            raise PluginError(f"an s3po plugin failed to load: {exc}") from exc
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc
    return pm


def _other_entry_points() -> bool:
    """Whether an installed distribution may declare an ``s3po`` entry point not built in.

    Reads the ``entry_points.txt`` of every ``*.dist-info`` and ``*.egg-info`` folder on
    ``sys.path`` (as :mod:`importlib.metadata` finds them) and looks at their ``[s3po]``
    sections. Where distributions could be that this does not see (a file on ``sys.path``,
    such as a zip; a meta-path finder of its own that finds distributions), it says True.
    """
    if any(
        hasattr(finder, "find_distributions") and not _looks_at_sys_path(finder)
        for finder in sys.meta_path
    ):
        return True
    builtin = {f"{name} = {module}" for name, module in BUILTIN_PLUGINS.items()}
    for entry in sys.path:
        folder = Path(entry or ".")
        if folder.is_file():
            return True
        for text in _entry_point_files(folder):
            if any(line not in builtin for line in _s3po_section(text)):
                return True
    return False


def _looks_at_sys_path(finder: object) -> bool:
    """Whether ``finder`` finds distributions where :func:`_entry_point_files` looks.

    That is the standard path finder, and the ``importlib_metadata`` backport's, which
    some libraries (dask, through it) add to ``sys.meta_path``.
    """
    kind = type(finder) if not isinstance(finder, type) else finder
    return finder is PathFinder or (
        kind.__module__ == "importlib_metadata" and kind.__name__ == "MetadataPathFinder"
    )


def _entry_point_files(folder: Path) -> Iterator[str]:
    """The text of each ``entry_points.txt`` of the distributions in ``folder``."""
    try:
        names = [child.name for child in folder.iterdir()]
    except OSError:
        return
    metadata = [n for n in names if n.lower().endswith((".dist-info", ".egg-info"))]
    if folder.name.lower().endswith(".egg") and "EGG-INFO" in names:
        metadata.append("EGG-INFO")
    for name in metadata:
        try:
            yield (folder / name / "entry_points.txt").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue


def _s3po_section(text: str) -> list[str]:
    """The entry-point lines of the ``[s3po]`` section of ``text``, spaces normalised."""
    header = f"[{hookspecs.PROJECT_NAME}]"
    if header not in text:
        return []
    lines: list[str] = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            inside = line == header
        elif inside and line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            lines.append(f"{name.strip()} = {value.strip()}")
    return lines


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    factory: Callable[..., T] | str
    install_hint: str | None


class _Registry(Generic[T]):
    """Names to factories, where a factory may be a lazy ``module:attribute`` path."""

    kind = "entry"
    unknown: type[PluginError] = PluginError

    def __init__(self) -> None:
        self._entries: dict[str, _Entry[T]] = {}
        self._lock = threading.Lock()

    def register(
        self,
        name: str,
        factory: Callable[..., T] | str,
        *,
        install_hint: str | None = None,
        replace: bool = False,
    ) -> None:
        """Register ``factory`` under ``name``.

        Args:
            name: The name users ask for.
            factory: A callable, or a ``"module:attribute"`` path imported on first use.
            install_hint: What to install when the import fails (``pip install ...``).
            replace: Allow replacing an existing entry of the same name.

        Raises:
            PluginError: ``name`` is taken and ``replace`` is false.
        """
        key = name.lower()
        if key in self._entries and not replace:
            raise PluginError(
                f"{self.kind} {name!r} is registered twice; pass replace=True to override it"
            )
        self._entries[key] = _Entry(factory, install_hint)

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is registered."""
        return isinstance(name, str) and name.lower() in self._entries

    def _factory(self, name: str) -> Callable[..., T]:
        entry = self._entries.get(name.lower())
        if entry is None:
            known = ", ".join(self.names()) or "none"
            raise self.unknown(
                f"unknown {self.kind} {name!r}; installed: {known}. "
                f"Install a plugin that provides it, or check the spelling."
            )
        if isinstance(entry.factory, str):
            module_name, _, attr = entry.factory.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                hint = f"; {entry.install_hint}" if entry.install_hint else ""
                raise self.unknown(
                    f"{self.kind} {name!r} needs a package that is not installed ({exc}){hint}"
                ) from exc
            try:
                factory: Callable[..., T] = getattr(module, attr) if attr else module  # type: ignore[assignment]
            except AttributeError as exc:
                raise self.unknown(
                    f"{self.kind} {name!r} points at {entry.factory!r}, which does not exist "
                    "(a broken plugin; reinstall or report it)"
                ) from exc
            with self._lock:
                self._entries[name.lower()] = _Entry(factory, entry.install_hint)
            return factory
        return entry.factory


class BackendRegistry(_Registry["Backend"]):
    """Storage backends by name.

    .. versionadded:: 0.1.0
    """

    kind = "backend"
    unknown = UnknownBackend

    def create(self, name: str, **options: Any) -> Backend:  # noqa: ANN401
        """Build the backend ``name`` with ``options``.

        Raises:
            UnknownBackend: No plugin provides ``name``.
            ConfigError: The backend takes no option of one of these names (checked
                against its factory's signature, before it is called).
            NotSupported: ``checksum_algorithm=`` names a wire checksum the backend
                cannot send: it takes no such option, or does not declare the algorithm
                in its :attr:`Capabilities.checksum_algorithms
                <s3po.backend.Capabilities.checksum_algorithms>`. Before any I/O, never
                silently dropped (a backend passing unknown options on, as fsspec's does,
                would otherwise ignore it).

        .. versionchanged:: 0.4.0
           An unknown option raises ``ConfigError`` naming it, not the factory's ``TypeError``;
           ``checksum_algorithm=`` is checked against what the backend can send.
        """
        factory = self._factory(name)
        algorithm = options.get("checksum_algorithm")
        if algorithm is not None and not _names_option(factory, "checksum_algorithm"):
            raise NotSupported(
                f"backend {name!r} cannot send wire checksums (checksum_algorithm="
                f"{algorithm!r}); use the s3 or obstore backend, or leave the option out"
            )
        _check_options(name, factory, options)
        backend = factory(**options)
        if isinstance(algorithm, str):
            backend.capabilities.require_checksum(algorithm, name)
        return backend


def _names_option(factory: Callable[..., Any], option: str) -> bool:
    """Whether ``factory`` takes ``option`` by name (not merely through ``**kwargs``)."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return True  # no signature to read: the factory and its capabilities decide
    found = parameters.get(option)
    return found is not None and found.kind is not inspect.Parameter.VAR_KEYWORD


def _check_options(name: str, factory: Callable[..., Any], options: dict[str, Any]) -> None:
    """Raise ConfigError for options ``factory`` cannot take, with the closest names."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # no signature to read: the factory decides
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return  # it passes the rest on (fsspec's storage options)
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    known = sorted(p.name for p in parameters if p.kind in named)
    unknown = sorted(set(options) - set(known))
    if not unknown:
        return
    hints = []
    for option in unknown:
        close = difflib.get_close_matches(option, known, n=1)
        hints.append(f"{option}= (did you mean {close[0]}=?)" if close else f"{option}=")
    takes = ", ".join(f"{k}=" for k in known) or "no options"
    raise ConfigError(
        f"backend {name!r} got unknown option(s): {', '.join(hints)}; it takes {takes}"
    )


class CodecRegistry(_Registry["Codec"]):
    """Codecs by Content-Encoding token.

    .. versionadded:: 0.1.0
    """

    kind = "codec"
    unknown = UnknownCodec

    def __init__(self) -> None:
        """Start empty."""
        super().__init__()
        self._instances: dict[str, Codec] = {}

    def get(self, name: str) -> Codec:
        """Return the codec ``name`` (case-insensitive).

        Raises:
            UnknownCodec: No plugin provides ``name``.
        """
        key = name.strip().lower()
        codec = self._instances.get(key)
        if codec is None:
            codec = self._factory(key)()
            self._instances[key] = codec
        return codec


class Registries:
    """The backends and codecs that a plugin manager's plugins provide.

    .. versionadded:: 0.1.0
    """

    def __init__(self, pm: pluggy.PluginManager | None = None) -> None:
        """Ask ``pm`` (default: a fresh :func:`make_plugin_manager`) to fill the registries."""
        self.pm = pm if pm is not None else make_plugin_manager()
        self.backends = BackendRegistry()
        self.codecs = CodecRegistry()
        self.pm.hook.s3po_register_backends(registry=self.backends)
        self.pm.hook.s3po_register_codecs(registry=self.codecs)
        log.debug("s3po backends: %s; codecs: %s", self.backends.names(), self.codecs.names())


@functools.cache
def default_registries() -> Registries:
    """The registries of the installed plugins, built once on first use.

    .. versionadded:: 0.1.0
    """
    return Registries()
