"""Where :class:`~s3po.Handle` and the background runner were; see s3po.client.background.

.. versionadded:: 0.1.0
.. versionchanged:: 0.3.0
   A re-export of :mod:`s3po.client.background`.
"""

from __future__ import annotations

from s3po.client.background import BatchProgress, Handle, Runner

__all__ = ["BatchProgress", "Handle", "Runner"]
