"""The hooks s3po calls, and the markers plugins use to implement them.

A plugin is a module (or object) with functions decorated by :data:`hookimpl`::

    import s3po

    @s3po.hookimpl
    def s3po_register_codecs(registry: s3po.CodecRegistry) -> None:
        registry.register("lz4", "s3po_lz4:Lz4Codec", install_hint="pip install s3po-lz4")

and is installed as a package that declares it in the ``s3po`` entry-point group::

    [project.entry-points.s3po]
    lz4 = "s3po_lz4"

Hooks are called with keyword arguments, so an implementation may accept only the arguments
it needs, and adding an argument later breaks no plugin.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from s3po.plugins import BackendRegistry, CodecRegistry

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec", "s3po_register_backends", "s3po_register_codecs"]

#: The pluggy project name, also the entry-point group plugins declare.
PROJECT_NAME = "s3po"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def s3po_register_backends(registry: BackendRegistry) -> None:
    """Register storage backends.

    Call ``registry.register(name, factory)`` once per backend. ``factory`` is a callable
    taking the backend's keyword options and returning a :class:`~s3po.Backend`, or a
    ``"module:attribute"`` string imported only when the backend is first used.

    :param registry: The backend registry to add to.

    .. versionadded:: 0.1.0
    """


@hookspec
def s3po_register_codecs(registry: CodecRegistry) -> None:
    """Register codecs (compression formats).

    Call ``registry.register(name, factory)`` once per codec, where ``name`` is the codec's
    HTTP ``Content-Encoding`` token and ``factory`` a zero-argument callable returning a
    :class:`~s3po.Codec`, or a ``"module:attribute"`` string imported on first use.

    :param registry: The codec registry to add to.

    .. versionadded:: 0.1.0
    """
