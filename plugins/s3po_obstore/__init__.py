"""The obstore backend plugin: registers ``obstore``, imported on first use.

``s3po.Connection(endpoint_url=...)`` uses it when no backend is named; it takes the same
options as the ``s3`` backend; see :class:`s3po_obstore.backend.ObstoreBackend`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import s3po

__all__ = ["s3po_register_backends"]


@s3po.hookimpl
def s3po_register_backends(registry: s3po.BackendRegistry) -> None:
    """Register the ``obstore`` backend.

    .. versionadded:: 0.1.0
    """
    registry.register(
        "obstore",
        "s3po_obstore.backend:ObstoreBackend",
        install_hint="pip install 'obstore>=0.12' (s3po depends on it; reinstall s3po)",
    )
