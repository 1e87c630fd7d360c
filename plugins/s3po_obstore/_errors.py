"""obstore's exceptions, translated into s3po's at the backend's edge, and its streaming body.

obstore raises a handful of typed exceptions (``FileNotFoundError`` for a 404,
``PreconditionError``, ``PermissionDeniedError``, ...) and folds everything else into
``GenericError``, whose message carries the HTTP status and the server's XML error body.
:func:`translate` reads the S3 error code and status out of that message, looks them up in
the SPI's table (:data:`s3po.backend.s3errors.S3_ERRORS`, one table for both request paths),
and builds an s3po error whose message names the object and says what to try next.
Transport failures (connection refused or reset, a body cut off, timeouts) become
:class:`~s3po.TransientError`, the only kind s3po's retry layer repeats.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from types import TracebackType

import obstore.exceptions as oe

import s3po
from s3po.backend import Body
from s3po.backend.s3errors import RETRY_ADVICE as _RETRY
from s3po.backend.s3errors import S3_ERRORS

__all__ = ["BodyErrors", "StreamBody", "error_code", "translate"]

#: The S3 error-code table is the SPI's: one table for both request paths.
_BY_CODE = S3_ERRORS

_STATUS = re.compile(r"status code: (\d{3})")
_CODE = re.compile(r"<Code>([^<]+)</Code>")
_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")
#: obstore's wording for failures below HTTP: refused, reset, cut-off or stalled connections.
_TRANSPORT = re.compile(
    r"error sending request|request or response body error|connection (?:closed|reset|refused)"
    r"|timed out|Timeout|Interrupted|broken pipe|unexpected EOF|IncompleteMessage",
    re.IGNORECASE,
)
_TLS = re.compile(r"certificate|tls|ssl", re.IGNORECASE)


def error_code(exc: BaseException) -> str:
    """The S3 error code in ``exc``'s message, else its HTTP status, else ``""``."""
    text = str(exc)
    code = _CODE.search(text)
    if code:
        return code[1].strip()
    status = _STATUS.search(text)
    return status[1] if status else ""


def _status(text: str) -> int:
    status = _STATUS.search(text)
    return int(status[1]) if status else 0


def _detail(text: str, code: str) -> str:
    """A one-line summary of obstore's message (never its multi-line debug dump)."""
    message = _MESSAGE.search(text)
    if code and message and message[1].strip() and message[1].strip() != code:
        return f"{code}: {message[1].strip()}"
    if code:
        return code
    return text.split("\n", 1)[0].strip()[:300]


def translate(
    exc: BaseException, *, op: str, bucket: str, key: str | None = None, where: str
) -> s3po.S3poError:
    """Build the s3po error for ``exc``, raised by ``op`` on ``s3://bucket/key`` at ``where``.

    The caller raises the result ``from exc``. A 404 without an S3 error code says
    :class:`~s3po.NoSuchKey` when a key is given, else :class:`~s3po.NoSuchBucket`.
    """
    location = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    context: dict[str, str | None] = {"bucket": bucket, "key": key, "backend": "obstore"}
    text = str(exc)
    code = error_code(exc)
    detail = _detail(text, code)
    if isinstance(exc, oe.InvalidPathError | ValueError):
        return s3po.InvalidKey(f"{op} {location}: obstore cannot address this key ({detail})")
    kind = _kind(exc, text, code, key)
    if kind is None:
        return s3po.TransientError(
            f"{op} {location}: connection to {where} failed ({detail}); {_RETRY}", **context
        )
    cls, advice = kind
    return cls(f"{op} {location} failed at {where} ({detail}); {advice}", **context)


def _kind(  # noqa: PLR0911 - one return per kind of failure, in order of precedence
    exc: BaseException, text: str, code: str, key: str | None
) -> tuple[type[s3po.BackendError], str] | None:
    """The error class and advice for ``exc``; None for a failed connection."""
    if isinstance(exc, FileNotFoundError | oe.NotFoundError):
        fallback = _BY_CODE["NoSuchKey" if key else "NoSuchBucket"]
        found = _BY_CODE.get(code)
        return found if found is not None and issubclass(found[0], s3po.NotFound) else fallback
    if isinstance(exc, oe.PreconditionError | oe.AlreadyExistsError):
        return _BY_CODE["PreconditionFailed"]
    if isinstance(exc, oe.PermissionDeniedError | oe.UnauthenticatedError):
        return _BY_CODE.get(code) or _BY_CODE["AccessDenied"]
    if code in _BY_CODE:
        return _BY_CODE[code]
    status = _status(text)
    if status >= 500:  # noqa: PLR2004 - HTTP status
        return s3po.TransientError, _RETRY
    if status:
        return s3po.BackendError, "the server refused the request; see its message"
    if _TLS.search(text):
        return s3po.BackendError, "check the endpoint's certificate or the CA bundle"
    if _TRANSPORT.search(text) or isinstance(exc, ConnectionError | TimeoutError):
        return None
    return s3po.BackendError, "see obstore's message"


class BodyErrors:
    """Maps what obstore raises while a body streams: every failure there is a cut-off body.

    A context manager, made once per body and entered for every chunk (it keeps no state
    between blocks), so a read costs no allocation. A cut-off body becomes
    :class:`~s3po.TransientError`, which the retry layer resumes at the offset reached.
    """

    __slots__ = ("_bucket", "_key", "_where")

    def __init__(self, *, bucket: str, key: str, where: str) -> None:
        """Name the object whose body this is, and where it comes from."""
        self._bucket = bucket
        self._key = key
        self._where = where

    def cut_off(self, why: str) -> s3po.TransientError:
        """The error for a body that ``why`` (``"ended 5 bytes early"``)."""
        return s3po.TransientError(
            f"the body of s3://{self._bucket}/{self._key} {why}; {_RETRY}",
            bucket=self._bucket,
            key=self._key,
            backend="obstore",
        )

    def __enter__(self) -> None:
        """Start a read."""

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Raise the s3po error for what the read raised (``raise ... from exc``)."""
        if exc is None or not isinstance(exc, Exception) or isinstance(exc, s3po.S3poError):
            return
        first = str(exc).split("\n", 1)[0]
        raise self.cut_off(
            f"was cut off from {self._where} ({type(exc).__name__}: {first})"
        ) from exc


class StreamBody(Body):
    """An object's body streaming from obstore in chunks, with read errors made transient.

    Reads stop after ``length`` bytes, and a stream that ends before that raises
    :class:`~s3po.TransientError`, so the retry layer resumes it at the right offset.
    """

    def __init__(
        self, chunks: Iterator[bytes], *, length: int, bucket: str, key: str, where: str
    ) -> None:
        """Wrap ``chunks``, which yields ``length`` bytes in all."""
        super().__init__()
        self._chunks: Iterator[bytes] | None = chunks
        self._chunk = b""
        self._pos = 0
        self._remaining = length
        self._errors = BodyErrors(bucket=bucket, key=key, where=where)

    def _next(self) -> bytes:
        if self._chunks is None:
            return b""
        with self._errors:
            return next(self._chunks, b"")

    def _piece(self, want: int) -> bytes | memoryview:
        """Up to ``want`` of the next bytes, from one chunk: the chunk itself when it fits.

        Raises:
            TransientError: The stream ended before ``length`` bytes.
        """
        chunk, pos = self._chunk, self._pos
        if pos >= len(chunk):
            chunk, pos = self._next(), 0
            if not chunk:
                raise self._errors.cut_off(f"ended {self._remaining} bytes early")
            self._chunk = chunk
        n = min(want, len(chunk) - pos)
        self._pos = pos + n
        self._remaining -= n
        if self._remaining <= 0:
            # Every byte the Content-Length framed is in, so the HTTP body has ended and its
            # connection goes back to the pool as the stream is dropped: asking the stream
            # for its end first would be one more trip through the runtime per object.
            self._chunks = None
        return chunk if n == len(chunk) else memoryview(chunk)[pos : pos + n]

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all remaining if negative).

        A sized read returns at most one chunk's worth, so a trickling body never blocks a
        read for long: the retry layer's low-speed limit sees its bytes as they come.
        """
        if self._remaining <= 0:
            return b""
        if size is not None and size >= 0:
            return bytes(self._piece(min(size, self._remaining))) if size else b""
        parts = [bytes(self._piece(self._remaining)) for _ in iter(lambda: self._remaining, 0)]
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def copy_into(self, fd: int, offset: int, size: int) -> int:
        """Write up to ``size`` of the next bytes (one chunk's worth) to ``fd`` at ``offset``.

        The chunk obstore handed over is written as it is, with no copy in between.
        """
        if self._remaining <= 0 or size <= 0:
            return 0
        view = memoryview(self._piece(min(size, self._remaining)))
        n = len(view)
        while view:
            view = view[os.pwrite(fd, view, offset + n - len(view)) :]
        return n

    def close(self) -> None:
        """Drop the stream (and with it the connection, unless it was read to its end)."""
        self._chunks = None
        self._chunk = b""
        super().close()
