"""Where the asyncio front end was; see :mod:`s3po.client.aio`.

.. versionadded:: 0.1.0
.. versionchanged:: 0.3.0
   A re-export of :mod:`s3po.client.aio`.
"""

from __future__ import annotations

from s3po.client.aio import AsyncBatch, AsyncConnection

__all__ = ["AsyncBatch", "AsyncConnection"]
