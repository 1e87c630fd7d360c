"""Test helpers for backends and middleware, under their old name: see :mod:`s3po.backend.testing`.

.. versionadded:: 0.1.0
.. versionchanged:: 0.2.0
   The content moved to :mod:`s3po.backend.testing`; this module only re-exports it.
"""

from __future__ import annotations

from s3po.backend.testing import BackendContract, FlakyBackend, md5_etag, multipart_etag

__all__ = ["BackendContract", "FlakyBackend", "md5_etag", "multipart_etag"]
