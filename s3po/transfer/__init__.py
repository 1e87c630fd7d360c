"""The Transfer pipeline: typed sources and sinks moved through one stack of layers.

- :mod:`~s3po.transfer.core`: :class:`Transfer`, which builds the stack in one function.
- :mod:`~s3po.transfer.sources`: what a caller passes, turned into an upload source.
- :mod:`~s3po.transfer.sinks`: where a download goes.
- :mod:`~s3po.transfer.results`: :class:`UploadResult`, :class:`DownloadResult`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from s3po import _lazy

if TYPE_CHECKING:
    from s3po.transfer.core import Transfer
    from s3po.transfer.results import DownloadResult, Source, UploadResult
    from s3po.transfer.sinks import DownloadSink, FileSink, MemorySink, StreamSink
    from s3po.transfer.sources import (
        BytesSource,
        FileSource,
        Progress,
        StreamSource,
        UploadSource,
    )

#: Where each public name lives; it is imported on first use (see :mod:`s3po._lazy`).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "s3po.transfer.core": ("Transfer",),
    "s3po.transfer.results": ("DownloadResult", "Source", "UploadResult"),
    "s3po.transfer.sinks": ("DownloadSink", "FileSink", "MemorySink", "StreamSink"),
    "s3po.transfer.sources": (
        "BytesSource",
        "FileSource",
        "Progress",
        "StreamSource",
        "UploadSource",
    ),
}

__all__ = [
    "BytesSource",
    "DownloadResult",
    "DownloadSink",
    "FileSink",
    "FileSource",
    "MemorySink",
    "Progress",
    "Source",
    "StreamSink",
    "StreamSource",
    "Transfer",
    "UploadResult",
    "UploadSource",
]

_WHERE = _lazy.invert(_EXPORTS)


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whichever name is asked for
    """Import a public name on first use."""
    return _lazy.resolve(__name__, _WHERE, name)


def __dir__() -> list[str]:
    """The public names, imported or not."""
    return _lazy.listing(__name__, __all__)
