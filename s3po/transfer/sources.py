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
from typing import IO

from s3po._types import FileIdentity
from s3po.backend.sources import (
    HOLD_LIMIT,
    BytesSource,
    FileSource,
    Progress,
    StreamSource,
    UploadSource,
)
from s3po.errors import InvalidRequest, SourceChanged
from s3po.transfer.results import Source
from s3po.validation import as_path

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
        with _open_file(as_path(source), progress) as file:
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

    A file of at most :data:`~s3po.backend.sources.HOLD_LIMIT` bytes is read whole here,
    in one ``pread`` that also asks for one byte more (the probe for a file that reads
    more than its size says); the file is checked unchanged when those bytes are sent
    (:meth:`FileSource.window <s3po.backend.sources.FileSource.window>`), so a change
    during the read or after it is refused as for a large file. Such a source needs no
    stream, and a batch of small files pays five calls per file (open, fstat, pread, the
    fstat of the check, close).

    Raises:
        InvalidRequest: ``path`` is a folder, missing, or not a regular file (a FIFO, a
            device), or a file that reads more than its size says (``/proc``, ``/sys``).
        SourceChanged: The file grew between being measured and being probed, or changed
            while a small file was read.
    """
    try:
        # O_NONBLOCK: opening a FIFO for reading would wait for a writer forever. A folder
        # opens too (read-only), and the fstat below names it: no stat of its own first.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InvalidRequest(f"{path} does not exist") from None
    except IsADirectoryError:  # where a folder does not open
        raise InvalidRequest(_FOLDER.format(path=path)) from None
    stream: IO[bytes]
    try:
        st = _regular(fd, path)
        identity = FileIdentity.from_stat(st)
        held = _read_small(fd, path, identity) if st.st_size <= HOLD_LIMIT else None
        if held is not None:
            stream = io.BytesIO(held)
        else:
            os.set_blocking(fd, True)
            _probe_end(fd, path, st)
            # An explicit buffer size: with the default, opening asks whether the file is a
            # terminal (one more system call per file, which a batch of files pays each time).
            stream = os.fdopen(fd, "rb", buffering=io.DEFAULT_BUFFER_SIZE)
    except BaseException:
        os.close(fd)
        raise
    try:
        yield FileSource(
            stream,
            fd=fd,
            path=str(path),
            start=0,
            size=st.st_size,
            identity=identity,
            progress=progress,
            held=held,
        )
    finally:
        if held is None:
            stream.close()  # and with it the file
        else:
            os.close(fd)


def _regular(fd: int, path: pathlib.Path) -> os.stat_result:
    """The file's status, if it is a regular file."""
    st = os.fstat(fd)
    if stat.S_ISDIR(st.st_mode):
        raise InvalidRequest(_FOLDER.format(path=path))
    if not stat.S_ISREG(st.st_mode):
        raise InvalidRequest(
            f"{path} is not a regular file (a FIFO, socket or device has no fixed size "
            "and may never end); to upload what it reads, open it and pass the stream "
            "(upload_fileobj)"
        )
    return st


def _more_than_its_size(path: pathlib.Path, fd: int, identity: FileIdentity) -> InvalidRequest:
    """A file that read past its size: SourceChanged if it grew, else this error to raise."""
    identity.check(fd, str(path))  # being appended to: SourceChanged
    return InvalidRequest(
        f"{path} says it holds {identity.size} bytes but reads more (a /proc or /sys "
        "file?); to upload what it reads, open it and pass the stream (upload_fileobj)"
    )


def _probe_end(fd: int, path: pathlib.Path, st: os.stat_result) -> None:
    """Refuse a file that holds more than its size says (the 1-byte read at its end)."""
    if os.pread(fd, 1, st.st_size):
        raise _more_than_its_size(path, fd, FileIdentity.from_stat(st))


def _read_small(fd: int, path: pathlib.Path, identity: FileIdentity) -> bytes:
    """All of a small regular file, read once (its identity is checked when it is sent).

    The descriptor may still be non-blocking: a regular file's reads do not look at it.
    """
    data = os.pread(fd, identity.size + 1, 0)
    if len(data) > identity.size:
        raise _more_than_its_size(path, fd, identity)
    if len(data) < identity.size:
        raise SourceChanged(
            f"{path} is shorter than when its upload began ({len(data)} of "
            f"{identity.size} bytes could be read); the upload was not committed and the "
            "file was kept: upload it again once nothing writes to it",
            path=str(path),
        )
    return data
