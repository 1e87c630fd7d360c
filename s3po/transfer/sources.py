"""Turning what a caller passes into a typed upload source.

The source types themselves are part of the interface every layer implements, so they live
in :mod:`s3po.backend.sources` (below the middleware that dispatches on them) and are
re-exported here.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import stat
from collections.abc import Iterator

from s3po._types import FileIdentity
from s3po.backend.sources import BytesSource, FileSource, Progress, StreamSource, UploadSource
from s3po.errors import InvalidRequest
from s3po.transfer.results import Source

__all__ = [
    "BytesSource",
    "FileSource",
    "Progress",
    "StreamSource",
    "UploadSource",
    "open_source",
]


_FOLDER = "{path} is a folder; upload a file, or use a batch per file"


@contextlib.contextmanager
def open_source(source: Source, progress: Progress | None = None) -> Iterator[UploadSource]:
    """The typed source for ``source``: bytes, a file opened by path, or a stream as is.

    Raises:
        InvalidRequest: A source that cannot be uploaded (a text stream, a folder, a FIFO,
            a missing file, something without ``read``), before any I/O.
    """
    if isinstance(source, str):
        yield BytesSource(source.encode("utf-8"), progress=progress)
    elif isinstance(source, bytes | bytearray | memoryview):
        yield BytesSource(bytes(source), progress=progress)
    elif isinstance(source, os.PathLike):
        with _open_file(pathlib.Path(source), progress) as file:
            yield file
    elif hasattr(source, "read"):
        if isinstance(source, io.TextIOBase):
            raise InvalidRequest(
                "the upload stream is opened in text mode; open it with 'rb' or pass bytes"
            )
        yield StreamSource(source, progress=progress)
    else:
        raise InvalidRequest(
            f"cannot upload a {type(source).__name__}; pass bytes, str, a path or a binary file"
        )


@contextlib.contextmanager
def _open_file(path: pathlib.Path, progress: Progress | None) -> Iterator[FileSource]:
    """Open a regular file without blocking on a FIFO, and take its identity.

    Raises:
        InvalidRequest: ``path`` is a folder, missing, or not a regular file (a FIFO, a
            device), or a file that reads more than its size says (``/proc``, ``/sys``).
        SourceChanged: The file grew between being measured and being probed.
    """
    try:
        # O_NONBLOCK: opening a FIFO for reading would wait for a writer forever. A folder
        # opens too (read-only), and the fstat below names it: no stat of its own first.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InvalidRequest(f"{path} does not exist") from None
    except IsADirectoryError:  # where a folder does not open
        raise InvalidRequest(_FOLDER.format(path=path)) from None
    try:
        st = _regular(fd, path)
    except BaseException:
        os.close(fd)
        raise
    # An explicit buffer size: with the default, opening asks whether the file is a
    # terminal (one more system call per file, which a batch of small files pays each time).
    with os.fdopen(fd, "rb", buffering=io.DEFAULT_BUFFER_SIZE) as stream:
        yield FileSource(
            stream,
            fd=fd,
            path=str(path),
            start=0,
            size=st.st_size,
            identity=FileIdentity.from_stat(st),
            progress=progress,
        )


def _regular(fd: int, path: pathlib.Path) -> os.stat_result:
    """The file's status, if it is a regular file that holds what its size says."""
    st = os.fstat(fd)
    if stat.S_ISDIR(st.st_mode):
        raise InvalidRequest(_FOLDER.format(path=path))
    if not stat.S_ISREG(st.st_mode):
        raise InvalidRequest(
            f"{path} is not a regular file (a FIFO, socket or device has no fixed size "
            "and may never end); to upload what it reads, open it and pass the stream "
            "(upload_fileobj)"
        )
    os.set_blocking(fd, True)
    if os.pread(fd, 1, st.st_size):
        FileIdentity.from_stat(st).check(fd, str(path))  # being appended to: SourceChanged
        raise InvalidRequest(
            f"{path} says it holds {st.st_size} bytes but reads more (a /proc or /sys "
            "file?); to upload what it reads, open it and pass the stream (upload_fileobj)"
        )
    return st
