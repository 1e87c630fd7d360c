"""S3's error codes, and the s3po error and advice each one becomes.

One table for every backend that talks to an S3-compatible server, whatever its HTTP
library: the ``s3`` plugin (botocore) and the ``obstore`` plugin (Rust) both look codes up
here, so a ``SlowDown`` is retried and a ``NoSuchUpload`` says the same thing on both paths.
Keys are S3 error codes, or an HTTP status as a string for the bodiless answers to HEAD.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from s3po import errors

__all__ = ["CREDENTIALS_ADVICE", "RETRY_ADVICE", "S3_ERRORS", "parse_retry_after"]

#: What to tell a user refused for lack of permission.
CREDENTIALS_ADVICE = (
    "check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the profile, or the "
    "role) and the bucket's policy"
)
#: What to tell a user about an error the retry layer repeats.
RETRY_ADVICE = "s3po retries this on its own; if it persists, check the endpoint and the server"

#: S3 error code (or bare HTTP status) -> the s3po error and what to tell the user.
S3_ERRORS: Mapping[str, tuple[type[errors.BackendError], str]] = {
    "NoSuchKey": (errors.NoSuchKey, "check the key; a listing shows what is stored"),
    "NoSuchBucket": (
        errors.NoSuchBucket,
        "check the bucket name, endpoint and region, or create it with create_bucket()",
    ),
    "NoSuchUpload": (
        errors.NoSuchUpload,
        "the multipart upload was completed or aborted already; start a new one",
    ),
    "AccessDenied": (errors.AccessDenied, CREDENTIALS_ADVICE),
    "403": (errors.AccessDenied, CREDENTIALS_ADVICE),
    "InvalidAccessKeyId": (errors.AccessDenied, CREDENTIALS_ADVICE),
    "SignatureDoesNotMatch": (errors.AccessDenied, "check the secret key and the region"),
    "AllAccessDisabled": (errors.AccessDenied, CREDENTIALS_ADVICE),
    "ExpiredToken": (errors.AccessDenied, "the session token expired; refresh the credentials"),
    "InvalidToken": (errors.AccessDenied, "the session token is invalid; refresh the credentials"),
    "PreconditionFailed": (
        errors.PreconditionFailed,
        "the object changed while it was read; start the download again",
    ),
    "412": (
        errors.PreconditionFailed,
        "the object changed while it was read; start the download again",
    ),
    "EntityTooSmall": (
        errors.InvalidPart,
        "every part but the last must be at least 5 MiB; raise part_size",
    ),
    "InvalidPart": (errors.InvalidPart, "a listed part was never uploaded or its ETag differs"),
    "InvalidPartOrder": (errors.InvalidPart, "list the parts in ascending order"),
    # Throttling and server faults: worth repeating.
    # A conditional write met a concurrent write of the key (S3 documents: retry it).
    "ConditionalRequestConflict": (errors.TransientError, RETRY_ADVICE),
    "SlowDown": (errors.Throttled, RETRY_ADVICE),
    "TooManyRequests": (errors.Throttled, RETRY_ADVICE),
    "ServiceUnavailable": (errors.Throttled, RETRY_ADVICE),
    "InternalError": (errors.TransientError, RETRY_ADVICE),
    "RequestTimeout": (errors.TransientError, RETRY_ADVICE),
    "RequestTimeoutException": (errors.TransientError, RETRY_ADVICE),
    "ThrottlingException": (errors.Throttled, RETRY_ADVICE),
    "Throttling": (errors.Throttled, RETRY_ADVICE),
    "TooManyRequestsException": (errors.Throttled, RETRY_ADVICE),
    "RequestLimitExceeded": (errors.Throttled, RETRY_ADVICE),
    "429": (errors.Throttled, RETRY_ADVICE),
    "500": (errors.TransientError, RETRY_ADVICE),
    "502": (errors.TransientError, RETRY_ADVICE),
    "503": (errors.Throttled, RETRY_ADVICE),
    "504": (errors.TransientError, RETRY_ADVICE),
    # The body arrived damaged or short (the MD5 or length did not match): sending it again
    # is the cure.
    "BadDigest": (errors.TransientError, RETRY_ADVICE),
    "IncompleteBody": (errors.TransientError, RETRY_ADVICE),
    "XAmzContentSHA256Mismatch": (errors.TransientError, RETRY_ADVICE),
}


#: The longest Retry-After honoured; a larger value is taken as this (a broken or hostile
#: server must not park a batch for hours).
MAX_RETRY_AFTER = 60.0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date.

    Returns None for a missing or unreadable value; at most :data:`MAX_RETRY_AFTER`.

    .. versionadded:: 0.4.0
    """
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        import email.utils  # noqa: PLC0415 - an HTTP date is rare; email costs ms to import

        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN  # noqa: PLR0124
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
