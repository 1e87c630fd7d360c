"""The SPI: what a plugin author writes a backend or a middleware against.

Everything a storage plugin needs is importable from here, and only from here (or from
:mod:`s3po`): a plugin never imports ``s3po._*`` or another plugin's private modules.

- :mod:`s3po.backend.protocol`: :class:`Backend` (one method per S3 request),
  :class:`ForwardingBackend` (the base of every middleware layer), :class:`Middleware`
  and :class:`Capabilities` (multipart limits).
- :mod:`s3po.backend.models`: the values that cross the interface: :class:`Headers`,
  :class:`ObjectInfo`, :class:`CommonPrefix`, :class:`PartInfo`, :class:`MultipartUpload`,
  :class:`GetResult`, :class:`WriteCondition`.
- :mod:`s3po.backend.bodies`: the bytes: :class:`Body` and :class:`BytesBody` for downloads;
  :data:`UploadBody`, :data:`PartBody`, :class:`FileWindow` and :class:`FileIdentity` for
  uploads.
- :mod:`s3po.backend.checksums`: S3's wire checksums (CRC32, CRC32C, CRC64NVME of the
  stored bytes): computing, combining and verifying them, and the ``checksum_algorithm=``
  policy backends share.
- :mod:`s3po.backend.emulation`: S3's rules for backends that emulate S3 on storage that has
  none (listing order and folding, ETags, the multipart checks, the multipart store itself).
- :mod:`s3po.backend.s3errors`: S3's error codes and the s3po error each one becomes, for
  backends that speak to S3-compatible servers.
- :mod:`s3po.backend.testing`: the contract suite a backend's tests subclass (needs pytest,
  so it is not imported here).

Write a backend like this::

    from s3po.backend import Backend, Capabilities, GetResult, Headers, ObjectInfo

    class MyBackend:  # satisfies Backend structurally
        name = "mine"
        capabilities = Capabilities()
        def head(self, bucket: str, key: str) -> ObjectInfo: ...

and register it from a ``s3po_register_backends`` hook (see docs/plugins.md).

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from s3po import _lazy

if TYPE_CHECKING:
    from s3po.backend import checksums, emulation, s3errors
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
        WriteCondition,
    )
    from s3po.backend.protocol import (
        ALL_CONDITIONS,
        WIRE_CHECKSUMS,
        Backend,
        Capabilities,
        ForwardingBackend,
        Middleware,
    )

#: Where each public name lives; it is imported on first use (see :mod:`s3po._lazy`).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "s3po.backend.checksums": ("checksums",),
    "s3po.backend.emulation": ("emulation",),
    "s3po.backend.s3errors": ("s3errors",),
    "s3po.backend.bodies": (
        "MIB",
        "Body",
        "BytesBody",
        "FileIdentity",
        "FileWindow",
        "PartBody",
        "Readable",
        "UploadBody",
    ),
    "s3po.backend.models": (
        "CommonPrefix",
        "GetResult",
        "Headers",
        "MultipartUpload",
        "ObjectInfo",
        "PartInfo",
        "WriteCondition",
    ),
    "s3po.backend.protocol": (
        "ALL_CONDITIONS",
        "WIRE_CHECKSUMS",
        "Backend",
        "Capabilities",
        "ForwardingBackend",
        "Middleware",
    ),
}

__all__ = [
    "ALL_CONDITIONS",
    "MIB",
    "WIRE_CHECKSUMS",
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
    "WriteCondition",
    "checksums",
    "emulation",
    "s3errors",
]

_WHERE = _lazy.invert(_EXPORTS)


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whichever name is asked for
    """Import a public name on first use."""
    return _lazy.resolve(__name__, _WHERE, name)


def __dir__() -> list[str]:
    """The public names, imported or not."""
    return _lazy.listing(__name__, __all__)
