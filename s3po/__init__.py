"""s3po: move data to and from object storage, with the chores done for you.

Start with :class:`Connection`: ``s3po.Connection(backend="local", root="/tmp/demo")`` needs
no account; ``s3po.Connection()`` talks to S3 with the standard AWS credential chain.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from s3po import emulation
from s3po._headers import parse_headers
from s3po._types import (
    Backend,
    Body,
    BytesBody,
    Capabilities,
    CommonPrefix,
    FileIdentity,
    FileWindow,
    ForwardingBackend,
    GetResult,
    Headers,
    Middleware,
    MultipartUpload,
    ObjectInfo,
    PartBody,
    PartInfo,
)
from s3po.client import Batch, BatchProgress, BatchResult, Connection, Handle, Job, Outcome
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
from s3po.transfer import DownloadResult, Transfer, UploadResult
from s3po.validation import check_bucket, check_key

#: The ``s3po`` logger, as the original exported it (``from s3po import logger``).
logger = logging.getLogger("s3po")

if TYPE_CHECKING:
    from s3po.client.aio import AsyncBatch, AsyncConnection

#: Public names imported on first use, and the module that has them: the asyncio front end
#: imports asyncio, a large share of start-up for programs that never use it.
_LAZY = {"AsyncBatch": "s3po.client.aio", "AsyncConnection": "s3po.client.aio"}

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


def __getattr__(name: str) -> Any:  # noqa: ANN401
    """Provide ``__version__`` and the asyncio front end lazily."""
    if name in _LAZY:
        import importlib  # noqa: PLC0415

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name == "__version__":
        from s3po._version import __version__  # noqa: PLC0415

        return __version__
    msg = f"module 's3po' has no attribute {name!r}"
    raise AttributeError(msg)
