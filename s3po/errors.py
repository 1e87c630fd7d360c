"""Every exception s3po raises, under one base class.

The tree::

    S3poError
    ├── ConfigError(S3poError, ValueError)          bad option values, before any I/O
    ├── InvalidRequest(S3poError, ValueError)       bad call arguments, before any I/O
    │   ├── InvalidBucketName
    │   ├── InvalidKey                              empty, too long, NUL, escapes the local root
    │   ├── UnknownArgument(InvalidRequest, TypeError)  a keyword the call does not take
    │   ├── UnknownCharset(InvalidRequest, LookupError) ``encoding=`` names no text codec
    │   └── NotSupported                            the backend cannot do this (presign, ...)
    ├── PluginError                                 plugin loading and registration
    │   ├── UnknownBackend(PluginError, LookupError)
    │   └── UnknownCodec(PluginError, LookupError)
    ├── TransferError                               .bucket, .key, .backend
    │   ├── BackendError                            raised by a backend, translated at its edge
    │   │   ├── NotFound(BackendError, FileNotFoundError)
    │   │   │   ├── NoSuchBucket
    │   │   │   ├── NoSuchKey
    │   │   │   └── NoSuchUpload
    │   │   ├── AccessDenied(BackendError, PermissionError)
    │   │   ├── PreconditionFailed                  If-Match / If-None-Match failed
    │   │   ├── InvalidPart                         S3 refused a part plan
    │   │   └── TransientError                      the only errors that are retried
    │   │       └── Throttled                       SlowDown, 503, 429: .retry_after
    │   ├── RetriesExhausted                        .last_exception, chained with ``from``
    │   ├── CorruptData                             a body failed to decode or verify
    │   │   └── UndecodableText(CorruptData, ValueError)  not text in its charset
    │   ├── UnrewindableBody                        a retry needed a stream that cannot seek back
    │   ├── SourceChanged                           the local file changed while it was uploaded
    │   ├── LocalFileError(TransferError, OSError)  reading or writing the local file failed
    │   ├── TransferInProgress                      another process is resuming this transfer
    │   └── Cancelled                               the batch was cancelled (Ctrl-C)
    └── BatchError(S3poError, ExceptionGroup)       every failure of a batch, for ``except*``

Backends translate their own exceptions into these with ``raise ... from exc``, so callers
never need to import boto3 or fsspec to handle an s3po failure.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import Any, Self

__all__ = [
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
]


class S3poError(Exception):
    """Base class of every exception s3po raises.

    .. versionadded:: 0.1.0
    """


class ConfigError(S3poError, ValueError):
    """A configuration value is out of range or inconsistent.

    .. versionadded:: 0.1.0
    """


class InvalidRequest(S3poError, ValueError):
    """A call's arguments are invalid; raised before any I/O happens.

    .. versionadded:: 0.1.0
    """


class InvalidBucketName(InvalidRequest):
    """A bucket name breaks S3's naming rules.

    .. versionadded:: 0.1.0
    """


class InvalidKey(InvalidRequest):
    """A key is empty, too long, contains NUL, or would escape the local root.

    .. versionadded:: 0.1.0
    """


class UnknownArgument(InvalidRequest, TypeError):
    """A call got a keyword argument it does not take (a typo, usually).

    It is a :class:`TypeError` too, as Python raises for an unexpected keyword.

    .. versionadded:: 0.2.0
    """


class UnknownCharset(InvalidRequest, LookupError):
    """``encoding=`` names a text encoding Python does not know; raised before any I/O.

    It is a :class:`LookupError` too, as :func:`codecs.lookup` raises.

    .. versionadded:: 0.4.0
    """


class NotSupported(InvalidRequest):
    """The backend cannot do what was asked (a presigned URL from the local backend, ...).

    .. versionadded:: 0.4.0
    """


class PluginError(S3poError):
    """A plugin failed to load or registered a name twice.

    .. versionadded:: 0.1.0
    """


class UnknownBackend(PluginError, LookupError):
    """No installed plugin provides the requested backend.

    .. versionadded:: 0.1.0
    """


class UnknownCodec(PluginError, LookupError):
    """No installed plugin provides the requested codec (or Content-Encoding).

    .. versionadded:: 0.1.0
    """


class TransferError(S3poError):
    """A transfer failed.

    Attributes:
        bucket: The bucket involved, when known.
        key: The key involved, when known.
        backend: The name of the backend that failed, when known.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        message: str,
        *,
        bucket: str | None = None,
        key: str | None = None,
        backend: str | None = None,
    ) -> None:
        """Create the error; ``bucket``, ``key`` and ``backend`` give context."""
        super().__init__(message)
        self.message = message
        self.bucket = bucket
        self.key = key
        self.backend = backend

    def __str__(self) -> str:
        """Return the message with the object's location, when known."""
        where = ""
        if self.bucket is not None:
            where = f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"
        if where and where not in self.message:
            return f"{self.message} ({where})"
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle with keyword context, so errors cross process boundaries intact."""
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))


def _rebuild(cls: type[TransferError], message: str, state: dict[str, Any]) -> TransferError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class BackendError(TransferError):
    """A storage backend refused or failed a request.

    .. versionadded:: 0.1.0
    """


class NotFound(BackendError, FileNotFoundError):
    """The bucket, key or upload does not exist.

    .. versionadded:: 0.1.0
    """


class NoSuchBucket(NotFound):
    """The bucket does not exist.

    .. versionadded:: 0.1.0
    """


class NoSuchKey(NotFound):
    """The key does not exist in the bucket.

    .. versionadded:: 0.1.0
    """


class NoSuchUpload(NotFound):
    """The multipart upload does not exist (completed or aborted already).

    .. versionadded:: 0.1.0
    """


class AccessDenied(BackendError, PermissionError):
    """The credentials do not allow the request.

    .. versionadded:: 0.1.0
    """


class PreconditionFailed(BackendError):
    """A condition on the object's version did not hold; nothing was read or written.

    Raised when a read pinned to an ETag finds the object changed, and when a conditional
    write is refused: ``if_none_match="*"`` onto a key that holds an object, or
    ``if_match=<etag>`` onto a key that holds another version (or none). A refused write
    changes nothing, and a multipart upload it ended is aborted. It is not retried: a
    concurrent conditional write that S3 answers with 409 ConditionalRequestConflict is a
    :class:`TransientError` instead.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.4.0
       Raised by conditional writes too.
    """


class InvalidPart(BackendError):
    """The backend refused a multipart plan (part too small, too many parts).

    .. versionadded:: 0.1.0
    """


class TransientError(BackendError):
    """A failure that may succeed if the request is repeated.

    Throttling, server errors, dropped connections and timeouts. These are the only errors
    the retry middleware retries.

    .. versionadded:: 0.1.0
    """


class Throttled(TransientError):
    """The store asked for fewer requests: S3's ``SlowDown``, HTTP 503 or 429.

    The transfers of a batch back off from it together, and their retries of it share one
    budget (see :mod:`s3po.middleware.pacing`).

    Attributes:
        retry_after: The seconds the store asked to wait (its ``Retry-After`` header), or
            None when it did not say.

    .. versionadded:: 0.4.0
    """

    retry_after: float | None = None


class RetriesExhausted(TransferError):
    """Every attempt failed with a transient error.

    Attributes:
        attempts: How many attempts were made.
        last_exception: The error of the last attempt (also ``__cause__``).

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        message: str,
        *,
        attempts: int,
        last_exception: BaseException,
        bucket: str | None = None,
        key: str | None = None,
        backend: str | None = None,
    ) -> None:
        """Create the error from the number of attempts and the last failure."""
        super().__init__(message, bucket=bucket, key=key, backend=backend)
        self.attempts = attempts
        self.last_exception = last_exception


class CorruptData(TransferError):
    """A body failed to decompress, or its checksum did not match.

    .. versionadded:: 0.1.0
    """


class UndecodableText(CorruptData, ValueError):
    """An object's bytes are not text in the charset asked for or named by its Content-Type.

    The object itself may be fine: ``download_bytes`` returns its bytes. It is a
    :class:`ValueError` too, as :class:`UnicodeDecodeError` is.

    Attributes:
        charset: The charset the bytes were decoded with.

    .. versionadded:: 0.4.0
    """

    def __init__(
        self,
        message: str,
        *,
        charset: str | None = None,
        bucket: str | None = None,
        key: str | None = None,
        backend: str | None = None,
    ) -> None:
        """Create the error; ``charset`` is the one that failed."""
        super().__init__(message, bucket=bucket, key=key, backend=backend)
        self.charset = charset


class UnrewindableBody(TransferError):
    """A retry needed to resend a body that cannot seek back to its start.

    .. versionadded:: 0.1.0
    """


class SourceChanged(TransferError):
    """The local file changed while it was being uploaded.

    Its size, modification time, change time or inode differ from when the upload began, or
    the bytes sent do not match the checksum the upload declared. The upload is aborted (no
    new object is committed) and the file is never deleted.

    Attributes:
        path: The file that changed, when known.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        bucket: str | None = None,
        key: str | None = None,
        backend: str | None = None,
    ) -> None:
        """Create the error; ``path`` names the file that changed."""
        super().__init__(message, bucket=bucket, key=key, backend=backend)
        self.path = path


class LocalFileError(TransferError, OSError):
    """Reading or writing the local file of a transfer failed (ENOSPC, EACCES, EIO, ...).

    It is an :class:`OSError` too, with the ``errno`` of the failure, so code that caught
    the operating system's error keeps working.

    Attributes:
        path: The local file.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        errno: int | None = None,
        bucket: str | None = None,
        key: str | None = None,
        backend: str | None = None,
    ) -> None:
        """Create the error for ``path``; ``errno`` is the operating system's code."""
        super().__init__(message, bucket=bucket, key=key, backend=backend)
        self.path = path
        self.errno = errno
        self.filename = path


class TransferInProgress(TransferError):
    """Another process (or thread) is resuming the same transfer now.

    A resumable transfer (``resume=True``) locks its journal for as long as it runs (see
    :mod:`s3po.resume.lock`); a second one of the same file and object finds the lock held
    and stops before it sends or writes anything, rather than sending the same parts or
    writing the same partial file at once. Nothing was changed: wait for the other one, or
    transfer without resume.

    Attributes:
        journal: The journal of the transfer.
        lock: The lock file that is held.

    .. versionadded:: 0.4.0
    """

    def __init__(
        self,
        message: str,
        *,
        journal: str | None = None,
        lock: str | None = None,
        bucket: str | None = None,
        key: str | None = None,
        backend: str | None = None,
    ) -> None:
        """Create the error; ``journal`` and ``lock`` name the files involved."""
        super().__init__(message, bucket=bucket, key=key, backend=backend)
        self.journal = journal
        self.lock = lock


class Cancelled(TransferError):
    """The transfer was stopped because its batch was cancelled (Ctrl-C, or an error).

    .. versionadded:: 0.1.0
    """


class BatchError(S3poError, ExceptionGroup):
    """Every transfer of a batch that failed, as one exception group.

    Catch it whole, or by kind with ``except*``::

        try:
            with conn.batch(8) as batch:
                ...
        except* NoSuchKey as group:
            ...

    .. versionadded:: 0.1.0
    """

    def __new__(cls, message: str, exceptions: list[Exception]) -> Self:  # noqa: D102
        return super().__new__(cls, message, exceptions)

    def derive(self, excs: list[Exception]) -> BatchError:  # type: ignore[override]
        """Build the narrowed group ``except*`` hands out, keeping the class."""
        return BatchError(self.message, excs)
