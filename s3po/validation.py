"""Argument checks that run before any I/O, with messages a user can act on.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import functools
import ipaddress
import os
import pathlib
import re
import stat

from s3po.errors import InvalidBucketName, InvalidKey, InvalidRequest

__all__ = ["MAX_KEY_BYTES", "as_path", "check_bucket", "check_download_path", "check_key"]

#: S3's limit on a key's length, in bytes of UTF-8.
MAX_KEY_BYTES = 1024

_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def check_bucket(bucket: str) -> str:
    """Return ``bucket`` if it follows S3's bucket naming rules.

    Raises:
        InvalidBucketName: It does not, with the rule it breaks.

    .. versionadded:: 0.1.0
    """
    if not isinstance(bucket, str):
        raise InvalidBucketName(f"a bucket name is a str, not {type(bucket).__name__}")
    _check_bucket(bucket)
    return bucket


@functools.lru_cache(maxsize=4096)
def _check_bucket(bucket: str) -> None:
    """The rules; valid names are cached (a batch names the same bucket thousands of times)."""
    why = None
    if not 3 <= len(bucket) <= 63:  # noqa: PLR2004
        why = "must be 3 to 63 characters long"
    elif not _BUCKET.match(bucket):
        why = (
            "may contain only lower-case letters, digits, dots and hyphens, "
            "and must start and end with a letter or digit"
        )
    elif ".." in bucket or ".-" in bucket or "-." in bucket:
        why = "must not contain '..', '.-' or '-.'"
    elif _is_ip(bucket):
        why = "must not look like an IP address"
    elif bucket.startswith(_RESERVED_PREFIXES) or bucket.endswith(_RESERVED_SUFFIXES):
        why = "must not use a prefix or suffix S3 reserves (xn--, sthree-, -s3alias, --ol-s3)"
    if why:
        raise InvalidBucketName(f"invalid bucket name {bucket!r}: a bucket name {why}")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def check_key(key: str) -> str:
    """Return ``key`` if S3 would accept it.

    Raises:
        InvalidKey: The key is empty, longer than 1024 bytes of UTF-8, or contains NUL.

    .. versionadded:: 0.1.0
    """
    if not isinstance(key, str):
        raise InvalidKey(f"a key is a str, not {type(key).__name__}")
    if not key:
        raise InvalidKey("the key is empty; give the object's name")
    if "\x00" in key:
        raise InvalidKey(f"the key {key!r} contains a NUL character")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKey(f"the key {key!r} is not valid Unicode (lone surrogate)") from None
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKey(
            f"the key is {len(encoded)} bytes of UTF-8; S3 allows at most {MAX_KEY_BYTES}"
        )
    return key


def as_path(path: str | os.PathLike[str]) -> pathlib.Path:
    """``path`` as a :class:`pathlib.Path`: the same object when it is one already.

    ``Path(p)`` of a Path parses it again; a batch that passes the walk's own Paths pays
    that per file at every layer, so each layer takes the one it was given.

    .. versionadded:: 0.4.0
    """
    return path if isinstance(path, pathlib.Path) else pathlib.Path(path)


def check_download_path(path: pathlib.Path) -> None:
    """Refuse a download destination that is a folder, a device or a pipe, before any I/O.

    A download is written to a temporary file and renamed over ``path``; over a device
    (``/dev/null``) or a FIFO that rename would replace the device itself with a file.

    Raises:
        InvalidRequest: ``path`` is a folder, or exists and is not a regular file.

    .. versionadded:: 0.4.0
    .. versionchanged:: 0.4.0
       Devices, FIFOs and sockets are refused.
    """
    try:  # one stat: a batch pays it per file
        mode = path.stat().st_mode
    except OSError:
        return  # missing (or unreadable: the write reports that in its own words)
    if stat.S_ISDIR(mode):
        raise InvalidRequest(f"{path} is a folder; give the file path to write")
    if not stat.S_ISREG(mode):
        raise InvalidRequest(
            f"{path} is not a regular file (a device, pipe or socket): a download replaces "
            "its destination by renaming a finished file over it; stream it instead "
            "(download_fileobj, or s3po cp s3://BUCKET/KEY - > PATH)"
        )
