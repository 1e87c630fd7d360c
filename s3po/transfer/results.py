"""What a transfer reports: :class:`UploadResult` and :class:`DownloadResult`.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from s3po._types import FileIdentity, ObjectInfo
    from s3po.integrity import Checksum

__all__ = ["DownloadResult", "Source", "UploadResult"]

#: What an upload reads from: bytes, text (encoded UTF-8), a path, or a binary stream.
Source = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadResult:
    """What an upload stored.

    Attributes:
        bucket: The bucket.
        key: The key.
        size: Bytes read from the source (before compression).
        stored_size: Bytes stored (after compression), when the backend reports it.
        etag: The stored object's ETag.
        content_encoding: The Content-Encoding stored, if any.
        version_id: The version, on versioned buckets.
        seconds: Wall time of the upload.
        checksum: The content checksum stored in the object's metadata (XXH3-128 as
            ``s3po-xxh128`` by default); None for streams that cannot seek, for bytes that
            arrive already encoded, or with ``checksum=False``.
        source: The identity of the file uploaded (size, times, inode) when its upload
            began, for sources that are regular files; every byte sent was read from the
            file in this state.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.2.0
       ``source``.
    """

    bucket: str
    key: str
    size: int
    stored_size: int | None
    etag: str
    content_encoding: str | None = None
    version_id: str | None = None
    seconds: float = 0.0
    checksum: Checksum | None = None
    source: FileIdentity | None = None

    @property
    def multipart(self) -> bool:
        """Whether the object went up in parts (its ETag has the ``-N`` form)."""
        return "-" in self.etag


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadResult:
    """What a download to a file or stream wrote.

    .. versionadded:: 0.1.0
    """

    bucket: str
    key: str
    size: int
    info: ObjectInfo
    path: str | None = None
    seconds: float = 0.0
