"""A file's size and modification time, kept with the object it was uploaded to.

``upload_file(..., keep_mtime=True)`` records the file's size and mtime in the object's
metadata (:data:`META_SIZE`, :data:`META_MTIME`), taken from the same ``fstat`` of the
open file as the upload's identity, so they describe exactly the bytes sent.
``download_file(..., keep_mtime=True)`` gives the file it writes the object's mtime
(:func:`object_mtime`: the recorded one, else the object's Last-Modified), set on the
temporary file before it is renamed into place. ``s3po cp`` and ``s3po sync`` do both, and
``sync`` compares what they recorded.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from s3po.backend.bodies import FileIdentity
    from s3po.backend.models import ObjectInfo

__all__ = ["META_MTIME", "META_SIZE", "file_metadata", "object_mtime"]

#: The metadata a kept file's size and mtime go in.
META_SIZE = "s3po-size"
META_MTIME = "s3po-mtime"

_NS = 1_000_000_000


def file_metadata(identity: FileIdentity) -> dict[str, str]:
    """The metadata recording a file's size and mtime, as ``identity`` saw them.

    The mtime is written as ``os.stat`` gives ``st_mtime`` (seconds, a float), which is
    the seconds plus the nanoseconds times 1e-9.
    """
    seconds, nanoseconds = divmod(identity.mtime_ns, _NS)
    return {META_SIZE: str(identity.size), META_MTIME: repr(seconds + nanoseconds * 1e-9)}


def object_mtime(info: ObjectInfo) -> float | None:
    """An object's mtime: the one its upload recorded, else its Last-Modified, else None."""
    recorded = info.headers.metadata.get(META_MTIME)
    if recorded is not None:
        try:
            return float(recorded)
        except ValueError:
            pass
    return info.last_modified.timestamp() if info.last_modified is not None else None
