"""Locations, durations, headers and the context every command runs in.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from s3po.errors import ConfigError, InvalidRequest, PluginError
from s3po.validation import check_bucket

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from s3po._cli.output import Output
    from s3po.connection import Connection

__all__ = [
    "STDIO",
    "USAGE_ERRORS",
    "Context",
    "Local",
    "Location",
    "Remote",
    "Stdio",
    "UsageError",
    "parse_duration",
    "parse_header_options",
    "parse_location",
]


#: Errors that mean the input was wrong, not that a transfer failed: exit status 2.
USAGE_ERRORS = (InvalidRequest, ConfigError, PluginError)


class UsageError(Exception):
    """The command line asks for something that cannot be done; exit status 2."""


@dataclass(frozen=True, slots=True)
class Remote:
    """An object or prefix: ``s3://bucket/key``."""

    bucket: str
    key: str

    def __str__(self) -> str:
        """Return the ``s3://`` URL."""
        return f"s3://{self.bucket}/{self.key}"

    @property
    def is_folder(self) -> bool:
        """Whether the key is empty or ends in ``/`` (it names a prefix, not an object)."""
        return not self.key or self.key.endswith("/")

    @property
    def folder(self) -> str:
        """The key as a prefix that ends in ``/`` (or the empty prefix)."""
        return self.key if self.is_folder else f"{self.key}/"

    def child(self, rel: str) -> Remote:
        """The object ``rel`` (``/``-separated) below this prefix."""
        return Remote(self.bucket, f"{self.folder}{rel}")


@dataclass(frozen=True, slots=True)
class Local:
    """A local file or folder, with the text the user typed (to see a trailing separator)."""

    path: Path
    raw: str

    def __str__(self) -> str:
        """Return the path as typed."""
        return self.raw

    @property
    def says_folder(self) -> bool:
        """Whether the text ends in a path separator or names an existing folder."""
        return self.raw.endswith(("/", os.sep)) or self.path.is_dir()

    def child(self, rel: str) -> Local:
        """The file ``rel`` (``/``-separated) below this folder."""
        path = self.path.joinpath(*rel.split("/"))
        sep = "" if self.raw.endswith(("/", os.sep)) else "/"
        return Local(path, f"{self.raw}{sep}{rel}")


class Stdio:
    """Standard input (as a source) or standard output (as a destination): ``-``."""

    def __str__(self) -> str:
        """Return ``-``."""
        return "-"


STDIO = Stdio()

Location = Remote | Local | Stdio


def parse_location(text: str) -> Location:
    """Read ``s3://bucket/key``, ``-`` or a local path.

    Raises:
        UsageError: A URL with no bucket or with another scheme.
        InvalidBucketName: The bucket name breaks S3's rules.
    """
    if text == "-":
        return STDIO
    if text[:5].lower() == "s3://":
        bucket, _, key = text[5:].partition("/")
        if not bucket:
            raise UsageError(f"{text!r} names no bucket; write s3://BUCKET/KEY")
        check_bucket(bucket)
        return Remote(bucket, key)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        raise UsageError(f"{text!r}: only s3:// URLs and local paths are supported")
    return Local(Path(text).expanduser(), text)


def parse_remote(text: str) -> Remote:
    """Read an ``s3://bucket/key`` argument.

    Raises:
        UsageError: The text is not an ``s3://`` URL.
    """
    location = parse_location(text)
    if not isinstance(location, Remote):
        raise UsageError(f"{text!r} is not an s3:// URL; write s3://BUCKET/KEY")
    return location


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> dt.timedelta:
    """Turn ``90s``, ``30m``, ``12h``, ``1d`` or ``2w`` into a timedelta.

    Raises:
        UsageError: The text is not a number followed by one of s, m, h, d, w.
    """
    match = _DURATION.match(text)
    if match is None:
        raise UsageError(
            f"{text!r} is not a duration; write a number and a unit: 30m, 12h, 1d, 2w (or 90s)"
        )
    number, unit = match.groups()
    return dt.timedelta(seconds=float(number) * _UNIT_SECONDS[unit.lower()])


def parse_header_options(
    pairs: Sequence[str] | None, content_type: str | None
) -> dict[str, str] | None:
    """Turn repeated ``--header 'Name: value'`` and ``--content-type`` into a mapping.

    Raises:
        UsageError: A header without a colon or without a name.
    """
    headers: dict[str, str] = {}
    for pair in pairs or ():
        name, colon, value = pair.partition(":")
        if not colon or not name.strip():
            raise UsageError(f"--header {pair!r} must look like 'Name: value'")
        headers[name.strip()] = value.strip()
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers or None


@dataclass(slots=True)
class Context:
    """What a command needs: the parsed options, the connection and the output.

    Attributes:
        args: The parsed command line.
        conn: The open connection.
        out: Where lines, records and progress go.
    """

    args: argparse.Namespace
    conn: Connection
    out: Output

    def opt(self, name: str, default: Any = None) -> Any:  # noqa: ANN401
        """An option of the subcommand, or ``default`` when the command has none."""
        return getattr(self.args, name, default)
