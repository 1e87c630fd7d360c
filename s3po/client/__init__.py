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

from s3po import _lazy

if TYPE_CHECKING:
    from s3po.client.aio import AsyncBatch, AsyncConnection
    from s3po.client.background import BatchProgress, Handle, Runner
    from s3po.client.batch import Batch
    from s3po.client.calls import Calls, CallsOf
    from s3po.client.connection import Connection
    from s3po.client.jobs import BatchResult, Job, Outcome

#: Where each public name lives; it is imported on first use (see :mod:`s3po._lazy`): the
#: asyncio front end imports asyncio, a large share of start-up for programs that never use it.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "s3po.client.aio": ("AsyncBatch", "AsyncConnection"),
    "s3po.client.background": ("BatchProgress", "Handle", "Runner"),
    "s3po.client.batch": ("Batch",),
    "s3po.client.calls": ("Calls", "CallsOf"),
    "s3po.client.connection": ("Connection",),
    "s3po.client.jobs": ("BatchResult", "Job", "Outcome"),
}

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

_WHERE = _lazy.invert(_EXPORTS)


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whichever name is asked for
    """Import a public name on first use."""
    return _lazy.resolve(__name__, _WHERE, name)


def __dir__() -> list[str]:
    """The public names, imported or not."""
    return _lazy.listing(__name__, __all__)
