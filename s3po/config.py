"""Immutable configuration of the transfer pipeline.

Derive variants with :func:`dataclasses.replace`; every value is checked when the object is
built and a bad one raises :class:`~s3po.ConfigError`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any

from s3po._types import MIB, Headers, Middleware
from s3po.errors import ConfigError

__all__ = ["ChunkConfig", "RetryConfig", "TransferConfig", "parse_size"]

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}


def parse_size(value: int | str) -> int:
    """Turn ``8MiB``, ``10 MB``, ``5242880`` or an int into a number of bytes.

    Raises:
        ConfigError: The text is not a size.

    .. versionadded:: 0.1.0
    """
    if isinstance(value, int):
        return value
    text = value.strip().lower().replace(" ", "")
    number = text.rstrip("kmgtib")
    unit = text[len(number) :]
    try:
        result = int(float(number) * _UNITS[unit])
    except (KeyError, ValueError, OverflowError):
        result = -1
    if result < 0:
        raise ConfigError(
            f"{value!r} is not a size; write bytes or a number with a unit such as 8MiB or 10MB"
        )
    return result


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryConfig:
    """How transient failures are retried: exponential backoff with full jitter.

    The n-th retry waits a random time between 0 and ``min(cap, base * 2**n)`` seconds.

    Attributes:
        retries: Retries after the first attempt (default 3, so 4 attempts in all).
        base: First backoff ceiling in seconds (default 0.1).
        cap: Largest backoff ceiling in seconds (default 20).
        deadline: Give up once this many seconds have passed since the transfer began
            (the call to the Connection), even with retries left and even in the middle of
            an attempt: a body still arriving past the deadline fails at its next read with
            :class:`~s3po.RetriesExhausted`. One blocked network read can overrun it by at
            most the backend's ``read_timeout``. None (default) means no deadline.
        low_speed_limit: Bytes per second below which a body counts as stalled (default
            1024, as curl's ``--speed-limit``); 0 turns the check off.
        low_speed_time: A body that arrives slower than ``low_speed_limit`` for this many
            seconds fails with :class:`~s3po.TransientError` and is resumed from the byte it
            reached (default 30). Only time spent waiting for the network counts, so a
            reader that consumes a stream slowly never trips it.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``low_speed_limit`` and ``low_speed_time``; ``deadline`` covers the whole transfer
       and is checked during an attempt too.
    """

    retries: int = 3
    base: float = 0.1
    cap: float = 20.0
    deadline: float | None = None
    low_speed_limit: int = 1024
    low_speed_time: float = 30.0

    def __post_init__(self) -> None:
        """Check the values."""
        if self.retries < 0:
            raise ConfigError(f"retries must be 0 or more, not {self.retries}")
        if self.base < 0 or self.cap < 0:
            raise ConfigError("backoff base and cap must not be negative")
        if self.deadline is not None and self.deadline <= 0:
            raise ConfigError(f"deadline must be positive seconds, not {self.deadline}")
        if self.low_speed_limit < 0:
            raise ConfigError(
                f"low_speed_limit must be 0 (off) or more bytes/s, not {self.low_speed_limit}"
            )
        if self.low_speed_time <= 0:
            raise ConfigError(f"low_speed_time must be positive seconds, not {self.low_speed_time}")

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (0 for the first retry)."""
        ceiling = min(self.cap, self.base * 2.0 ** min(retry_number, 64))
        return (rng or random).uniform(0, ceiling)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkConfig:
    """When and how objects are split into parts.

    Attributes:
        threshold: Objects larger than this go up as multipart and come down as
            parallel ranged GETs (default 10 MiB).
        part_size: Bytes per part (default 8 MiB); raised automatically to the backend's
            minimum and to stay within its part-count limit.
        max_concurrency: Parts in flight at once, per transfer (default 10). Streams and
            compressed uploads buffer about ``part_size * (max_concurrency + 1)`` bytes;
            plain files are sent part by part straight from the file.

    .. versionadded:: 0.1.0
    """

    threshold: int = 10 * MIB
    part_size: int = 8 * MIB
    max_concurrency: int = 10

    def __post_init__(self) -> None:
        """Check the values."""
        if self.part_size < 1:
            raise ConfigError(f"part_size must be positive, not {self.part_size}")
        if self.threshold < 0:
            raise ConfigError(f"threshold must not be negative, not {self.threshold}")
        if self.max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be 1 or more, not {self.max_concurrency}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferConfig:
    """Defaults for every call of a Connection; each call may override them.

    Attributes:
        compress: Codec name applied on upload (``"gzip"``, ``"zstd"``, ...); None stores
            bytes as given (default).
        compress_level: Codec level; None takes the codec's default.
        decompress: Undo Content-Encoding on download (default True).
        retry: Retry policy.
        chunk: Multipart policy.
        headers: Headers applied to every upload, under the call's own.
        middleware: Extra layers, outermost first, placed above the built-in stack.
        checksum: Store a checksum of the content in the object's metadata and check it
            on download: True (default) for XXH3-128 (``s3po-xxh128``), ``"sha256"`` for
            SHA-256 (``s3po-sha256``), False for none. A download checks whichever one the
            object carries. Costs one extra read of a file before upload (from the page
            cache; XXH3 hashes about 20 GB/s, SHA-256 about 1.7 GB/s).
        max_decompressed_size: Refuse to decompress beyond this many bytes (a
            decompression-bomb guard), however the download is read; None (default)
            means no limit.
        max_expansion_ratio: When a download's whole content is read into memory
            (``download_bytes``, ``download_string``), refuse with
            :class:`~s3po.CorruptData` to decompress beyond this many times its stored
            size, and never below 64 MiB (default 4096: a single gzip layer cannot
            exceed about 1032, real data rarely exceeds 100; stacked layers and zstd or
            brotli bombs do). Streamed downloads decode in bounded memory and are not
            limited by it. None turns it off.
        resume: Make file transfers resumable (default False): a multipart upload of a
            file, or a ranged download to a path, that is interrupted (Ctrl-C, a
            cancelled batch, a crash, a network that failed for good) keeps what it
            stored and a small journal, and the same transfer run again continues it
            (see :mod:`s3po.resume`). Off, an interruption aborts the upload and removes
            the partial file, as before.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.4.0
       ``resume``.
    """

    compress: str | None = None
    compress_level: int | None = None
    decompress: bool = True
    retry: RetryConfig = field(default_factory=RetryConfig)
    chunk: ChunkConfig = field(default_factory=ChunkConfig)
    headers: Headers = field(default_factory=Headers)
    middleware: tuple[Middleware, ...] = ()
    checksum: bool | str = True
    max_decompressed_size: int | None = None
    max_expansion_ratio: float | None = 4096
    resume: bool = False

    def __post_init__(self) -> None:
        """Check the values."""
        if self.max_decompressed_size is not None and self.max_decompressed_size < 0:
            raise ConfigError("max_decompressed_size must not be negative")
        if self.max_expansion_ratio is not None and not self.max_expansion_ratio >= 1:
            raise ConfigError(
                f"max_expansion_ratio must be 1 or more, or None, not {self.max_expansion_ratio}"
            )
        from s3po.integrity import content_hash  # noqa: PLC0415 - integrity imports the stack

        content_hash(self.checksum)

    def evolve(self, **changes: Any) -> TransferConfig:  # noqa: ANN401
        """Return a copy with ``changes``; ``retries=`` and chunk fields are accepted flat."""
        retry_changes: dict[str, Any] = {
            k: changes.pop(k)
            for k in ("base", "cap", "deadline", "low_speed_limit", "low_speed_time")
            if k in changes
        }
        if "retries" in changes:
            retry_changes["retries"] = changes.pop("retries")
        chunk_changes = {
            k: parse_size(changes.pop(k)) if k != "max_concurrency" else changes.pop(k)
            for k in ("threshold", "part_size", "max_concurrency")
            if k in changes
        }
        if retry_changes:
            changes["retry"] = dataclasses.replace(self.retry, **retry_changes)
        if chunk_changes:
            changes["chunk"] = dataclasses.replace(self.chunk, **chunk_changes)
        try:
            return dataclasses.replace(self, **changes)
        except TypeError as exc:
            raise ConfigError(str(exc)) from None
