"""botocore's exceptions, translated into s3po's at the backend's edge.

Every call the backend makes to botocore runs inside :func:`s3_errors`, the backend's one
error edge (as httpx maps its transport's exceptions in one context manager): botocore's
exceptions, and the urllib3 and socket errors that can come out of it unwrapped, leave it as
s3po errors raised ``from`` the original. :func:`translate` builds them: it looks a
``ClientError`` up in one table, :data:`s3po.backend.s3errors.S3_ERRORS` (shared with the
obstore backend), keyed by the S3 error code (or, for the bodiless HEAD responses, the HTTP
status as a string), falls back on the HTTP status, and writes a message that names the
object and says what to try next. Credentials never appear in a message: only the server's
code and message, the bucket, the key and the endpoint do.
"""

from __future__ import annotations

import contextlib
import http.client
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import botocore.exceptions as bce
import botocore.response
import urllib3.exceptions
import urllib3.response

import s3po
from s3po.backend import Body, FileWindow
from s3po.backend.s3errors import RETRY_ADVICE as _RETRY
from s3po.backend.s3errors import S3_ERRORS, parse_retry_after

if TYPE_CHECKING:
    from botocore.response import StreamingBody

__all__ = ["StreamBody", "s3_errors", "translate"]

#: botocore's transport failures worth repeating (SSL errors are not: a bad certificate
#: stays bad).
_TRANSIENT_TRANSPORT = (
    bce.EndpointConnectionError,
    bce.ConnectionClosedError,
    bce.ReadTimeoutError,
    bce.ConnectTimeoutError,
    bce.HTTPClientError,
)

#: Failures while a response body streams in; the retry layer resumes from the offset.
_STREAM_ERRORS = (
    bce.IncompleteReadError,
    bce.ResponseStreamingError,
    bce.ReadTimeoutError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)


#: What :func:`s3_errors` translates: botocore's two roots, and what its HTTP stack can
#: raise past them (urllib3's errors while a response is read, sockets' own).
_MAPPED = (
    bce.BotoCoreError,
    bce.ClientError,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)


@contextlib.contextmanager
def s3_errors(
    op: str, bucket: str, key: str | None = None, *, where: str, body: object = None
) -> Iterator[None]:
    """Raise s3po's error for any botocore failure inside, ``from`` the original.

    This is the s3 backend's one error edge: every request goes through it. s3po's own
    errors pass unchanged. A request that sent ``body`` (a :class:`~s3po.FileWindow`) and
    failed because the file changed under it raises the window's
    :class:`~s3po.SourceChanged` instead, however botocore (or awscrt, which signs some
    requests) wrapped it: the caller must learn that the file changed, not that the
    request failed.

    Args:
        op: The operation, as messages name it (``"put"``, ``"put_part 3"``, ...).
        bucket: The bucket the request addressed.
        key: The key, if the request named one.
        where: The endpoint, as messages name it.
        body: The request's body, if it streams from a file window.

    .. versionadded:: 0.4.0
    """
    try:
        yield
    except Exception as exc:
        changed = body.changed if isinstance(body, FileWindow) else None
        if changed is not None and changed is not exc:
            raise changed from exc
        if isinstance(exc, s3po.S3poError) or not isinstance(exc, _MAPPED):
            raise
        raise translate(exc, op=op, bucket=bucket, key=key, where=where) from exc


def error_code(exc: bce.ClientError) -> str:
    """The S3 error code of ``exc``, or its HTTP status when the response had no body."""
    response: Any = exc.response
    code = str(response.get("Error", {}).get("Code") or "")
    return code or str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def status_code(exc: bce.ClientError) -> int:
    """The HTTP status of ``exc`` (0 if unknown)."""
    response: Any = exc.response
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def translate(
    exc: Exception, *, op: str, bucket: str | None, key: str | None = None, where: str
) -> s3po.S3poError:
    """Build the s3po error for ``exc``, raised by ``op`` on ``s3://bucket/key`` at ``where``.

    The caller raises the result ``from exc``.
    """
    location = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    context = {"bucket": bucket, "key": key, "backend": "s3"}
    if isinstance(exc, bce.ClientError):
        code = error_code(exc)
        status = status_code(exc)
        message = str(exc.response.get("Error", {}).get("Message") or "").strip()
        detail = f"{code}: {message}" if message and message != code else code
        cls, advice = S3_ERRORS.get(code) or S3_ERRORS.get(str(status)) or _by_status(status, key)
        error = cls(f"{op} {location} failed at {where} ({detail}); {advice}", **context)
        if isinstance(error, s3po.Throttled):
            headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            error.retry_after = parse_retry_after(headers.get("retry-after"))
        return error
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError):
        return s3po.AccessDenied(
            f"{op} {location}: no usable AWS credentials found ({exc}); set "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or pass them to the backend",
            **context,
        )
    if isinstance(exc, bce.SSLError):
        return s3po.BackendError(
            f"{op} {location}: TLS failed at {where} ({exc}); check the endpoint's certificate "
            "or the CA bundle (AWS_CA_BUNDLE)",
            **context,
        )
    if isinstance(exc, _TRANSIENT_TRANSPORT + _STREAM_ERRORS):
        return s3po.TransientError(
            f"{op} {location}: connection to {where} failed ({type(exc).__name__}); {_RETRY}",
            **context,
        )
    if isinstance(exc, bce.ParamValidationError):
        return s3po.InvalidRequest(f"{op} {location}: boto3 refused the request: {exc}")
    return s3po.BackendError(f"{op} {location} failed at {where}: {exc}", **context)


def _read_some(stream: StreamingBody) -> Callable[[int], bytes]:
    """A read of at most ``n`` bytes that waits for one socket read only, not for ``n``.

    A plain :class:`botocore.response.StreamingBody` is read through its urllib3 response's
    ``read1`` (raw bytes, as botocore reads them). A subclass (botocore's checksum-checking
    body, under the ``when_supported`` policy) is read through its own ``read`` so that its
    check still runs, in pieces of 64 KiB to keep each wait short.
    """
    raw = getattr(stream, "_raw_stream", None)
    if type(stream) is botocore.response.StreamingBody and hasattr(raw, "read1"):
        return lambda n: raw.read1(n, decode_content=False)  # type: ignore[union-attr]
    return lambda n: stream.read(min(n, 64 * 1024))


def _by_status(status: int, key: str | None) -> tuple[type[s3po.BackendError], str]:
    if status == 404:  # noqa: PLR2004 - HTTP status
        return S3_ERRORS["NoSuchKey"] if key else S3_ERRORS["NoSuchBucket"]
    if status >= 500:  # noqa: PLR2004 - HTTP status
        return s3po.TransientError, _RETRY
    return s3po.BackendError, "the server refused the request; see its message"


def _never_decode(stream: StreamingBody) -> None:
    """Make urllib3 hand over the stored bytes, whatever the Content-Encoding says.

    botocore already reads with ``decode_content=False``, but urllib3 still builds its
    decoders on the first read and refuses more than five stacked encodings there with
    its own ``DecodeError``. s3po decodes bodies itself (bounded, in the codec layer), so
    this response gets no decoders at all.
    """
    raw = getattr(stream, "_raw_stream", None)  # botocore keeps the urllib3 response here
    if isinstance(raw, urllib3.response.BaseHTTPResponse):
        raw.CONTENT_DECODERS = []


class StreamBody(Body):
    """An object's body streaming from botocore, with read errors made transient.

    Reads stop after ``length`` bytes, and a stream that ends before that raises
    :class:`~s3po.TransientError`, so the retry layer resumes it at the right offset.
    ``skip`` bytes are dropped first (for servers that answer a ranged GET in full).

    A read returns as soon as the socket has given some bytes (a short read), so a body
    trickling in never blocks one read for long and the retry layer's low-speed limit and
    deadline see every byte as it comes.
    """

    def __init__(
        self,
        stream: StreamingBody,
        *,
        length: int,
        skip: int = 0,
        bucket: str,
        key: str,
        where: str,
    ) -> None:
        """Wrap ``stream``, which holds ``skip + length`` bytes or more."""
        super().__init__()
        _never_decode(stream)
        self._stream = stream
        self._remaining = length
        self._skip = skip
        self._bucket = bucket
        self._key = key
        self._where = where
        self._read = _read_some(stream)

    def _raw(self, n: int) -> bytes:
        try:
            return self._read(n)
        except _STREAM_ERRORS as exc:
            raise s3po.TransientError(
                f"the body of s3://{self._bucket}/{self._key} was cut off from {self._where} "
                f"({type(exc).__name__}: {exc}); {_RETRY}",
                bucket=self._bucket,
                key=self._key,
                backend="s3",
            ) from exc

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all remaining if negative)."""
        while self._skip > 0:
            dropped = self._raw(min(self._skip, 1024 * 1024))
            if not dropped:
                break
            self._skip -= len(dropped)
        if self._remaining <= 0:
            return b""
        n = self._remaining if size is None or size < 0 else min(size, self._remaining)
        data = self._raw(n)
        if not data and n > 0:
            raise s3po.TransientError(
                f"the body of s3://{self._bucket}/{self._key} ended {self._remaining} bytes "
                f"early; {_RETRY}",
                bucket=self._bucket,
                key=self._key,
                backend="s3",
            )
        self._remaining -= len(data)
        return data

    def close(self) -> None:
        """Release the connection."""
        if not self.closed:
            self._stream.close()
        super().close()
