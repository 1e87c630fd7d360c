"""The storage interface, under its old private name: see :mod:`s3po.backend`.

Kept so that existing imports of ``s3po._types`` go on working; new code (and every plugin)
imports from :mod:`s3po.backend` instead.

.. versionadded:: 0.1.0
.. versionchanged:: 0.2.0
   The content moved to :mod:`s3po.backend`; this module only re-exports it.
"""

from __future__ import annotations

from s3po.backend.bodies import (
    MIB,
    Body,
    BytesBody,
    FileIdentity,
    FileWindow,
    PartBody,
    Readable,
    UploadBody,
)
from s3po.backend.models import (
    CommonPrefix,
    GetResult,
    Headers,
    MultipartUpload,
    ObjectInfo,
    PartInfo,
)
from s3po.backend.protocol import Backend, Capabilities, ForwardingBackend, Middleware

__all__ = [
    "MIB",
    "Backend",
    "Body",
    "BytesBody",
    "Capabilities",
    "CommonPrefix",
    "FileIdentity",
    "FileWindow",
    "ForwardingBackend",
    "GetResult",
    "Headers",
    "Middleware",
    "MultipartUpload",
    "ObjectInfo",
    "PartBody",
    "PartInfo",
    "Readable",
    "UploadBody",
]
