"""The ``s3po://`` fsspec filesystem: compressed objects as files for pandas, pyarrow, polars.

Installing s3po registers the protocol through fsspec's ``fsspec.specs`` entry points, so
``fsspec.open("s3po://bucket/key", "rb", backend="local", root="store")`` works, and so
do ``pd.read_csv("s3po://...", storage_options={...})`` and ``UPath("s3po://...")``. It
needs fsspec (``pip install 's3po[fsspec]'``).

.. versionadded:: 0.4.0
"""

from __future__ import annotations

from s3po.fs._files import DecodedFile, RangedFile, WriteFile
from s3po.fs._filesystem import DECODED_SIZE_METADATA, SEEKABLE_METADATA, S3poFileSystem
from s3po.fs._seekable import fetch_frames, read_frame_index

__all__ = [
    "DECODED_SIZE_METADATA",
    "SEEKABLE_METADATA",
    "DecodedFile",
    "RangedFile",
    "S3poFileSystem",
    "WriteFile",
    "fetch_frames",
    "read_frame_index",
]
