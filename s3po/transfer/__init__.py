"""The Transfer pipeline: typed sources and sinks moved through one stack of layers.

- :mod:`~s3po.transfer.core`: :class:`Transfer`, which builds the stack in one function.
- :mod:`~s3po.transfer.sources`: what a caller passes, turned into an upload source.
- :mod:`~s3po.transfer.sinks`: where a download goes.
- :mod:`~s3po.transfer.results`: :class:`UploadResult`, :class:`DownloadResult`.

.. versionadded:: 0.1.0
"""

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
