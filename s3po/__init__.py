"""s3po: move data to and from object storage, with the chores done for you.

Start with :class:`Connection`: ``s3po.Connection(backend="local", root="/tmp/demo")`` needs
no account; ``s3po.Connection()`` talks to S3 with the standard AWS credential chain.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from s3po import _lazy

if TYPE_CHECKING:
    from s3po import emulation
    from s3po._headers import parse_headers
    from s3po.backend.bodies import Body, BytesBody, FileIdentity, FileWindow, PartBody
    from s3po.backend.models import (
        CommonPrefix,
        GetResult,
        Headers,
        MultipartUpload,
        ObjectInfo,
        PartInfo,
    )
    from s3po.backend.protocol import Backend, Capabilities, ForwardingBackend, Middleware
    from s3po.client.aio import AsyncBatch, AsyncConnection
    from s3po.client.background import BatchProgress, Handle
    from s3po.client.batch import Batch
    from s3po.client.connection import Connection
    from s3po.client.jobs import BatchResult, Job, Outcome
    from s3po.codecs import Codec, Decoder, Encoder
    from s3po.config import ChunkConfig, RetryConfig, TransferConfig, parse_size
    from s3po.errors import (
        AccessDenied,
        BackendError,
        BatchError,
        Cancelled,
        ConfigError,
        CorruptData,
        InvalidBucketName,
        InvalidKey,
        InvalidPart,
        InvalidRequest,
        LocalFileError,
        NoSuchBucket,
        NoSuchKey,
        NoSuchUpload,
        NotFound,
        NotSupported,
        PluginError,
        PreconditionFailed,
        RetriesExhausted,
        S3poError,
        SourceChanged,
        Throttled,
        TransferError,
        TransferInProgress,
        TransientError,
        UndecodableText,
        UnknownArgument,
        UnknownBackend,
        UnknownCharset,
        UnknownCodec,
        UnrewindableBody,
    )
    from s3po.hookspecs import hookimpl, hookspec
    from s3po.plugins import (
        BackendRegistry,
        CodecRegistry,
        Registries,
        default_registries,
        make_plugin_manager,
    )
    from s3po.transfer.core import Transfer
    from s3po.transfer.results import DownloadResult, UploadResult
    from s3po.validation import check_bucket, check_key

#: The ``s3po`` logger, as the original exported it (``from s3po import logger``).
logger = logging.getLogger("s3po")

#: Where each public name lives. ``import s3po`` imports none of these modules: a name is
#: imported on first use (PEP 562), so ``import s3po`` and the CLI's ``--help`` stay cheap and
#: a program pays only for what it uses. The block above says the same to type checkers;
#: tests/test_public_api.py checks that the two agree.
_EXPORTS: dict[str, tuple[str, ...]] = {
    # a name that is the submodule itself
    "s3po.emulation": ("emulation",),
    "s3po._headers": ("parse_headers",),
    "s3po.backend.bodies": ("Body", "BytesBody", "FileIdentity", "FileWindow", "PartBody"),
    "s3po.backend.models": (
        "CommonPrefix",
        "GetResult",
        "Headers",
        "MultipartUpload",
        "ObjectInfo",
        "PartInfo",
    ),
    "s3po.backend.protocol": ("Backend", "Capabilities", "ForwardingBackend", "Middleware"),
    "s3po.client.aio": ("AsyncBatch", "AsyncConnection"),
    "s3po.client.background": ("BatchProgress", "Handle"),
    "s3po.client.batch": ("Batch",),
    "s3po.client.connection": ("Connection",),
    "s3po.client.jobs": ("BatchResult", "Job", "Outcome"),
    "s3po.codecs": ("Codec", "Decoder", "Encoder"),
    "s3po.config": ("ChunkConfig", "RetryConfig", "TransferConfig", "parse_size"),
    "s3po.errors": (
        "AccessDenied",
        "BackendError",
        "BatchError",
        "Cancelled",
        "ConfigError",
        "CorruptData",
        "InvalidBucketName",
        "InvalidKey",
        "InvalidPart",
        "InvalidRequest",
        "LocalFileError",
        "NoSuchBucket",
        "NoSuchKey",
        "NoSuchUpload",
        "NotFound",
        "NotSupported",
        "PluginError",
        "PreconditionFailed",
        "RetriesExhausted",
        "S3poError",
        "SourceChanged",
        "Throttled",
        "TransferError",
        "TransferInProgress",
        "TransientError",
        "UndecodableText",
        "UnknownArgument",
        "UnknownBackend",
        "UnknownCharset",
        "UnknownCodec",
        "UnrewindableBody",
    ),
    "s3po.hookspecs": ("hookimpl", "hookspec"),
    "s3po.plugins": (
        "BackendRegistry",
        "CodecRegistry",
        "Registries",
        "default_registries",
        "make_plugin_manager",
    ),
    "s3po.transfer.core": ("Transfer",),
    "s3po.transfer.results": ("DownloadResult", "UploadResult"),
    "s3po.validation": ("check_bucket", "check_key"),
}

__all__ = [
    "AccessDenied",
    "AsyncBatch",
    "AsyncConnection",
    "Backend",
    "BackendError",
    "BackendRegistry",
    "Batch",
    "BatchError",
    "BatchProgress",
    "BatchResult",
    "Body",
    "BytesBody",
    "Cancelled",
    "Capabilities",
    "ChunkConfig",
    "Codec",
    "CodecRegistry",
    "CommonPrefix",
    "ConfigError",
    "Connection",
    "CorruptData",
    "Decoder",
    "DownloadResult",
    "Encoder",
    "FileIdentity",
    "FileWindow",
    "ForwardingBackend",
    "GetResult",
    "Handle",
    "Headers",
    "InvalidBucketName",
    "InvalidKey",
    "InvalidPart",
    "InvalidRequest",
    "Job",
    "LocalFileError",
    "Middleware",
    "MultipartUpload",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchUpload",
    "NotFound",
    "NotSupported",
    "ObjectInfo",
    "Outcome",
    "PartBody",
    "PartInfo",
    "PluginError",
    "PreconditionFailed",
    "Registries",
    "RetriesExhausted",
    "RetryConfig",
    "S3poError",
    "SourceChanged",
    "Throttled",
    "Transfer",
    "TransferConfig",
    "TransferError",
    "TransferInProgress",
    "TransientError",
    "UndecodableText",
    "UnknownArgument",
    "UnknownBackend",
    "UnknownCharset",
    "UnknownCodec",
    "UnrewindableBody",
    "UploadResult",
    "check_bucket",
    "check_key",
    "default_registries",
    "emulation",
    "hookimpl",
    "hookspec",
    "logger",
    "make_plugin_manager",
    "parse_headers",
    "parse_size",
]

_WHERE = _lazy.invert(_EXPORTS) | {"__version__": "s3po._version"}


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whichever name is asked for
    """Import a public name (and ``__version__``) on first use."""
    return _lazy.resolve(__name__, _WHERE, name)


def __dir__() -> list[str]:
    """The public names, imported or not."""
    return _lazy.listing(__name__, __all__)
