"""``UPath("s3po://bucket/key", backend=..., ...)``: universal_pathlib paths on s3po.

Registered through universal_pathlib's ``universal_pathlib.implementations`` entry points;
paths behave as those of the other object stores (the bucket is the drive).

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import fsspec
from upath.implementations.cloud import CloudPath

__all__ = ["S3poPath"]

# universal_pathlib takes a protocol's path rules from the filesystem classes fsspec has
# loaded; load ours now, as fsspec would on first use, so it needs no guessing.
fsspec.get_filesystem_class("s3po")


class S3poPath(CloudPath):
    """A path on :class:`~s3po.fs.S3poFileSystem` (``s3po://bucket/key``).

    .. versionadded:: 0.4.0
    """

    __slots__ = ()
