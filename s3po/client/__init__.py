"""The front ends: Connection, Batch, background work and asyncio.

Each checks a call's arguments once and hands the work to :class:`~s3po.Transfer`:

- :mod:`~s3po.client.options` types the keyword options of each call family once;
- :mod:`~s3po.client.base`, :mod:`~s3po.client.uploads`, :mod:`~s3po.client.downloads` and
  :mod:`~s3po.client.calls` write every call once, for every front end, and
  :mod:`~s3po.client.legacy` the original s3po's other spellings over them;
- :mod:`~s3po.client.connection` and :mod:`~s3po.client.batch` decide where a call runs
  (now, in the background, in a batch), :mod:`~s3po.client.background` runs it there;
- :mod:`~s3po.client.jobs` describes calls as data, and :mod:`~s3po.client.stream` runs
  streams of them through a batch (in groups on a cluster);
- :mod:`~s3po.client.aio` offers the same calls as coroutines and tasks.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from s3po.client.background import BatchProgress, Handle, Runner
from s3po.client.batch import Batch
from s3po.client.calls import Calls, CallsOf
from s3po.client.connection import Connection
from s3po.client.jobs import BatchResult, Job, Outcome

if TYPE_CHECKING:
    from s3po.client.aio import AsyncBatch, AsyncConnection

__all__ = [
    "AsyncBatch",
    "AsyncConnection",
    "Batch",
    "BatchProgress",
    "BatchResult",
    "Calls",
    "CallsOf",
    "Connection",
    "Handle",
    "Job",
    "Outcome",
    "Runner",
]


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whichever name is asked for
    """Import the asyncio front end on first use (asyncio is a large share of start-up)."""
    if name in {"AsyncBatch", "AsyncConnection"}:
        from s3po.client import aio  # noqa: PLC0415

        return getattr(aio, name)
    msg = f"module 's3po.client' has no attribute {name!r}"
    raise AttributeError(msg)
