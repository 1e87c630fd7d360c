"""The S3 backend plugin (boto3): registers ``s3``, imported on first use.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import s3po

__all__ = ["s3po_register_backends"]


@s3po.hookimpl
def s3po_register_backends(registry: s3po.BackendRegistry) -> None:
    """Register the ``s3`` backend."""
    registry.register("s3", "s3po_s3.backend:S3Backend", install_hint="pip install boto3")
