"""The ``memory`` backend: S3's semantics in a dictionary, for unit tests.

Objects live in this process only, in the backend instance: each
``Connection(backend="memory")`` (or :meth:`Connection.memory() <s3po.Connection.memory>`)
starts with an empty store of its own, and a pickled Connection's copy starts empty too.
Everything else behaves as on S3, so code tested here runs unchanged against a real store:
ETags are MD5s (``md5-N`` for multipart uploads), Content-Type, Content-Encoding and user
metadata are kept, listings come in S3's key order with prefixes and delimiters, ranged and
If-Match GETs work, and multipart uploads obey S3's limits (parts of at least 5 MiB but the
last, at most 10,000 parts) and are listed until completed or aborted.

A write is committed whole or not at all: the body is read to its end first, then stored
under a lock, so readers never see part of an object, and a source that fails part-way
leaves the old object in place. Every method is safe to call from many threads.

This is the original s3po's in-memory backend and ``conn.mock()`` store, grown into a full
backend.

.. versionadded:: 0.4.0

The backend itself is in :mod:`s3po_memory.backend`, imported when the ``memory`` backend is first
used (or ``MemoryBackend`` imported from here), so registering the plugin costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import s3po

if TYPE_CHECKING:
    from s3po_memory.backend import MemoryBackend

__all__ = ["MemoryBackend", "s3po_register_backends"]


@s3po.hookimpl
def s3po_register_backends(registry: s3po.BackendRegistry) -> None:
    """Register the ``memory`` backend."""
    registry.register("memory", "s3po_memory.backend:MemoryBackend")


def __getattr__(name: str) -> object:
    """``MemoryBackend``, imported on first use."""
    if name == "MemoryBackend":
        from s3po_memory.backend import MemoryBackend  # noqa: PLC0415 - on first use

        return MemoryBackend
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
