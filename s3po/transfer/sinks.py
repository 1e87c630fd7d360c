"""Download sinks, re-exported from :mod:`s3po.backend.sinks`.

They are defined there, where the bodies that drain into them can see them.

.. versionadded:: 0.4.0
"""

from s3po.backend.sinks import DownloadSink, FileSink, MemorySink, StreamSink

__all__ = ["DownloadSink", "FileSink", "MemorySink", "StreamSink"]
