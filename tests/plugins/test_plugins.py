"""Plugin loading and the registries, each test on a fresh plugin manager."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pluggy
import pytest

import s3po
from s3po.hookspecs import PROJECT_NAME
from s3po.plugins import DISABLE_ENV

BUILTIN_BACKENDS = {"local", "s3", "fsspec"}
BUILTIN_CODECS = {"gzip", "x-gzip", "zstd", "br"}


class Rot13Codec:
    """A toy codec: rot13 over ASCII letters, chunk by chunk."""

    name = "x-rot13"

    class _Coder:
        table = bytes.maketrans(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            b"NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
        )

        def encode(self, data: bytes) -> bytes:
            return data.translate(self.table)

        decode = encode

        def flush(self) -> bytes:
            return b""

    def encoder(self, level: int | None = None) -> Any:  # noqa: ARG002
        return self._Coder()

    def decoder(self) -> Any:
        return self._Coder()


class Rot13Plugin:
    @s3po.hookimpl
    def s3po_register_codecs(self, registry: s3po.CodecRegistry) -> None:
        registry.register("x-rot13", Rot13Codec)


@pytest.fixture(autouse=True)
def no_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load every installed plugin unless a test disables some itself."""
    monkeypatch.delenv(DISABLE_ENV, raising=False)


def test_fresh_manager_loads_the_builtin_plugins() -> None:
    pm = s3po.make_plugin_manager()
    assert isinstance(pm, pluggy.PluginManager)
    assert pm.project_name == PROJECT_NAME
    names = {name for name, _ in pm.list_name_plugin()}
    assert {"local", "s3", "fsspec", "gzip", "zstd", "br"} <= names
    registries = s3po.Registries(pm)
    assert set(registries.backends.names()) >= BUILTIN_BACKENDS
    assert set(registries.codecs.names()) >= BUILTIN_CODECS


def test_each_manager_is_independent() -> None:
    first = s3po.Registries(s3po.make_plugin_manager(plugins=[Rot13Plugin()]))
    second = s3po.Registries(s3po.make_plugin_manager())
    assert first.pm is not second.pm
    assert "x-rot13" in first.codecs
    assert "x-rot13" not in second.codecs
    assert "x-rot13" not in s3po.default_registries().codecs


def test_without_entry_points_only_given_plugins_load() -> None:
    registries = s3po.Registries(
        s3po.make_plugin_manager(load_entrypoints=False, plugins=[Rot13Plugin()])
    )
    assert registries.codecs.names() == ["x-rot13"]
    assert registries.backends.names() == []
    with pytest.raises(s3po.UnknownBackend, match=r"'local'.*installed: none"):
        registries.backends.create("local")


def test_default_registries_are_cached() -> None:
    assert s3po.default_registries() is s3po.default_registries()


# -- registration -------------------------------------------------------------------------


@pytest.mark.parametrize("registry_type", [s3po.CodecRegistry, s3po.BackendRegistry])
def test_duplicate_registration_raises(registry_type: type) -> None:
    registry = registry_type()
    registry.register("thing", dict)
    with pytest.raises(s3po.PluginError, match=r"registered twice.*replace=True"):
        registry.register("thing", list)
    with pytest.raises(s3po.PluginError):
        registry.register("THING", list)  # names are case-insensitive


def test_replace_true_overrides() -> None:
    registry = s3po.CodecRegistry()
    registry.register("x-rot13", "no_such_module:Codec")
    registry.register("x-rot13", Rot13Codec, replace=True)
    assert isinstance(registry.get("x-rot13"), Rot13Codec)


def test_duplicate_from_two_plugins_raises() -> None:
    class Again:
        @s3po.hookimpl
        def s3po_register_codecs(self, registry: s3po.CodecRegistry) -> None:
            registry.register("gzip", Rot13Codec)

    pm = s3po.make_plugin_manager(plugins=[Again()])
    with pytest.raises(s3po.PluginError, match=r"'gzip' is registered twice"):
        s3po.Registries(pm)


def test_a_plugin_may_replace_a_builtin() -> None:
    class Replace:
        @s3po.hookimpl(trylast=True)
        def s3po_register_codecs(self, registry: s3po.CodecRegistry) -> None:
            registry.register("gzip", Rot13Codec, replace=True)

    registries = s3po.Registries(s3po.make_plugin_manager(plugins=[Replace()]))
    assert isinstance(registries.codecs.get("gzip"), Rot13Codec)


def test_unknown_names_list_what_is_installed(registries: s3po.Registries) -> None:
    with pytest.raises(s3po.UnknownCodec, match=r"'lzma'.*installed:.*gzip") as info:
        registries.codecs.get("lzma")
    assert isinstance(info.value, LookupError)
    with pytest.raises(s3po.UnknownBackend, match=r"'gcs'.*installed:.*local"):
        registries.backends.create("gcs")


@pytest.mark.parametrize(
    ("registry_type", "error"),
    [(s3po.CodecRegistry, s3po.UnknownCodec), (s3po.BackendRegistry, s3po.UnknownBackend)],
)
def test_lazy_entry_with_missing_module_gives_the_install_hint(
    registry_type: type, error: type
) -> None:
    registry = registry_type()
    registry.register(
        "x-lazy", "s3po_no_such_plugin_module:Thing", install_hint="pip install s3po-lazy"
    )
    assert "x-lazy" in registry
    use = registry.get if registry_type is s3po.CodecRegistry else registry.create
    with pytest.raises(error, match=r"not installed.*pip install s3po-lazy"):
        use("x-lazy")


def test_lazy_entry_is_imported_on_first_use_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "s3po_test_lazy_codec.py").write_text(
        "IMPORTED = True\n"
        "class Codec:\n"
        "    name = 'x-lazy'\n"
        "    def encoder(self, level=None): ...\n"
        "    def decoder(self): ...\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "s3po_test_lazy_codec", raising=False)
    registry = s3po.CodecRegistry()
    registry.register("x-lazy", "s3po_test_lazy_codec:Codec")
    assert "s3po_test_lazy_codec" not in sys.modules
    codec = registry.get("x-lazy")
    assert codec.name == "x-lazy"
    assert "s3po_test_lazy_codec" in sys.modules
    assert registry.get("X-LAZY") is codec
    monkeypatch.delitem(sys.modules, "s3po_test_lazy_codec")


@pytest.mark.parametrize(("codec", "module"), [("br", "brotli"), ("zstd", "zstandard")])
def test_builtin_codec_without_its_library_gives_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, codec: str, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    registries = s3po.Registries(s3po.make_plugin_manager())
    with pytest.raises(
        s3po.UnknownCodec, match=rf"pip install 's3po\[{codec.replace('br', 'brotli')}\]'"
    ):
        registries.codecs.get(codec)


# -- S3PO_DISABLE_PLUGINS -----------------------------------------------------------------


def test_disable_plugins_blocks_an_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_ENV, "zstd")
    pm = s3po.make_plugin_manager()
    assert pm.is_blocked("zstd")
    registries = s3po.Registries(pm)
    assert "zstd" not in registries.codecs
    assert {"gzip", "br"} <= set(registries.codecs.names())
    with pytest.raises(s3po.UnknownCodec, match="'zstd'"):
        registries.codecs.get("zstd")


def test_disable_plugins_takes_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_ENV, " zstd , br,fsspec ")
    registries = s3po.Registries(s3po.make_plugin_manager())
    assert "zstd" not in registries.codecs
    assert "br" not in registries.codecs
    assert "fsspec" not in registries.backends
    assert "gzip" in registries.codecs
    assert "local" in registries.backends


def test_disabled_codec_in_a_connection(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DISABLE_ENV, "zstd")
    registries = s3po.Registries(s3po.make_plugin_manager())
    with s3po.Connection(backend="local", root=tmp_path, registries=registries) as conn:
        conn.create_bucket("bucket")
        with pytest.raises(s3po.UnknownCodec):
            conn.upload_string("bucket", "k", "text", compress="zstd")
        assert conn.list_names("bucket") == []


# -- hook validation ----------------------------------------------------------------------


def test_misspelled_hook_fails_check_pending() -> None:
    class Misspelled:
        @s3po.hookimpl
        def s3po_register_codec(self, registry: s3po.CodecRegistry) -> None:
            """One letter short of the real hook."""

    with pytest.raises(s3po.PluginError, match="s3po_register_codec"):
        s3po.make_plugin_manager(load_entrypoints=False, plugins=[Misspelled()])


def test_misspelled_hook_module_plugin() -> None:
    module = SimpleNamespace(__name__="fake_plugin_module")

    @s3po.hookimpl
    def s3po_register_backend(registry: s3po.BackendRegistry) -> None:
        """Singular: not a hook."""

    module.s3po_register_backend = s3po_register_backend
    with pytest.raises(s3po.PluginError, match="unknown hook"):
        s3po.make_plugin_manager(load_entrypoints=False, plugins=[module])


def test_hooks_may_take_only_what_they_need() -> None:
    seen: list[str] = []

    class Minimal:
        @s3po.hookimpl
        def s3po_register_backends(self) -> None:
            seen.append("backends")

    s3po.Registries(s3po.make_plugin_manager(load_entrypoints=False, plugins=[Minimal()]))
    assert seen == ["backends"]


# -- a third-party codec package, installed for real --------------------------------------

PLUGIN_MODULE = '''
"""A third-party s3po codec: rot13 over ASCII letters."""

import s3po

_TABLE = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    b"NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)


class _Coder:
    def encode(self, data):
        return data.translate(_TABLE)

    decode = encode

    def flush(self):
        return b""


class RotCodec:
    name = "x-rot"

    def encoder(self, level=None):
        return _Coder()

    def decoder(self):
        return _Coder()


@s3po.hookimpl
def s3po_register_codecs(registry):
    registry.register("x-rot", RotCodec)
'''

PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "s3po-rot"
version = "0.0.1"

[project.entry-points.s3po]
rot = "s3po_rot"

[tool.hatch.build.targets.wheel]
packages = ["s3po_rot"]
"""

CHECK = """
import pathlib, sys
import s3po

root = pathlib.Path(sys.argv[1])
conn = s3po.Connection(backend="local", root=root)
conn.upload_string("bucket", "k", "Hello, plugin world", compress="x-rot")
stored = (root / "bucket" / "k").read_bytes()
assert stored == b"Uryyb, cyhtva jbeyq", stored
assert conn.head("bucket", "k").headers.content_encoding == "x-rot"
assert conn.download_string("bucket", "k") == "Hello, plugin world"
conn.close()
print("x-rot ok")
"""


def test_third_party_codec_package(tmp_path: Path) -> None:
    hatchling = pytest.importorskip("hatchling", reason="the test extra installs hatchling")
    assert hatchling
    package = tmp_path / "s3po-rot"
    (package / "s3po_rot").mkdir(parents=True)
    (package / "s3po_rot" / "__init__.py").write_text(textwrap.dedent(PLUGIN_MODULE))
    (package / "pyproject.toml").write_text(PYPROJECT)
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(package),
        ],
        check=True,
        capture_output=True,
    )
    assert list(site.glob("s3po_rot-*.dist-info"))
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop(DISABLE_ENV, None)
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(tmp_path / "root")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "x-rot ok"
    # Without the package on the path the codec is unknown: the entry point did the work.
    env.pop("PYTHONPATH")
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(tmp_path / "root2")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "UnknownCodec" in done.stderr


# -- backend options ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "typo", "meant"),
    [
        ({"backend": "s3", "endpoit_url": "http://127.0.0.1:9"}, "endpoit_url", "endpoint_url"),
        ({"backend": "obstore", "regon_name": "eu-west-1"}, "regon_name", "region_name"),
        ({"endpoit_url": "http://127.0.0.1:9"}, "endpoit_url", "endpoint_url"),  # the default
        ({"backend": "local", "fsynk": False}, "fsynk", "fsync"),
        ({"backend": "memory", "create_bucket": False}, "create_bucket", "create_buckets"),
    ],
)
def test_an_unknown_backend_option_is_a_config_error_naming_it(
    registries: s3po.Registries, options: dict[str, Any], typo: str, meant: str
) -> None:
    """Not the backend's TypeError: ConfigError, the option, and the closest real one."""
    with pytest.raises(s3po.ConfigError, match=rf"{typo}= \(did you mean {meant}=\?\)"):
        s3po.Connection(registries=registries, **options)


def test_options_of_a_factory_taking_any_keyword_are_left_to_it() -> None:
    registry = s3po.BackendRegistry()
    seen: dict[str, Any] = {}

    def factory(**options: Any) -> Any:
        seen.update(options)
        return object()

    registry.register("open", factory)
    registry.create("open", anything=1)
    assert seen == {"anything": 1}


def test_fsspec_without_its_extra_gives_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, registries: s3po.Registries
) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)  # as if it were not installed
    with pytest.raises(s3po.UnknownBackend, match=r"not installed.*pip install 's3po\[fsspec\]'"):
        s3po.Connection(backend="fsspec", protocol="memory", registries=registries)
