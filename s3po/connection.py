"""Where :class:`~s3po.Connection` and :class:`~s3po.Batch` were; they live in s3po.client now.

.. versionadded:: 0.1.0
.. versionchanged:: 0.3.0
   A re-export of :mod:`s3po.client.connection` and :mod:`s3po.client.batch`.
"""

from __future__ import annotations

from s3po.client.base import Defaults
from s3po.client.batch import Batch
from s3po.client.connection import (
    CREDENTIAL_OPTIONS,
    DEFAULT_BACKEND_ENV,
    Connection,
    default_backend,
)

__all__ = ["CREDENTIAL_OPTIONS", "DEFAULT_BACKEND_ENV", "Batch", "Connection", "default_backend"]

#: Pickles made before 0.3.0 name a Connection's defaults by this path.
_Defaults = Defaults
