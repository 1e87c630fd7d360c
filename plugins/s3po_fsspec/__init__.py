"""The fsspec backend plugin: any fsspec filesystem as an s3po backend.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import s3po

__all__ = ["s3po_register_backends"]


@s3po.hookimpl
def s3po_register_backends(registry: s3po.BackendRegistry) -> None:
    """Register the ``fsspec`` backend."""
    registry.register(
        "fsspec", "s3po_fsspec.backend:FsspecBackend", install_hint="pip install 's3po[fsspec]'"
    )
