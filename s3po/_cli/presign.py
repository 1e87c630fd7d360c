"""``presign``: a URL that lets its holder GET or PUT one object without credentials.

The URL is signed locally with the connection's credentials (no request is made) and is
valid for ``--expires-in`` seconds, at most 7 days as SigV4 allows. Backends that cannot
sign URLs (the local backend keeps files on this machine) say so and exit 2.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from s3po._cli.common import UsageError, parse_remote
from s3po.backend.admin import PRESIGN_METHODS, presigner

if TYPE_CHECKING:
    from collections.abc import Callable

    from s3po._cli.common import Context

__all__ = ["MAX_EXPIRES", "add_parsers", "cmd_presign"]

#: The longest validity SigV4 allows: 7 days.
MAX_EXPIRES = 7 * 24 * 3600


def _expires(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value <= MAX_EXPIRES:
        msg = f"{text!r} is not a whole number of seconds from 1 to {MAX_EXPIRES} (7 days)"
        raise argparse.ArgumentTypeError(msg)
    return value


def add_parsers(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``presign``; ``command(name, help)`` makes a subparser with the globals."""
    presign = command("presign", "print a presigned URL to GET (or PUT) s3://BUCKET/KEY")
    presign.add_argument("url", metavar="URL")
    presign.add_argument(
        "--expires-in",
        type=_expires,
        default=3600,
        metavar="SECONDS",
        help="how long the URL works (default 3600, at most 604800)",
    )
    presign.add_argument(
        "--method",
        type=str.upper,
        choices=PRESIGN_METHODS,
        default="GET",
        help="GET to download (default), PUT to upload with e.g. curl -T",
    )


def cmd_presign(ctx: Context) -> int:
    """``s3po presign s3://b/k``: print the URL."""
    target = parse_remote(ctx.args.url)
    if target.is_folder:
        raise UsageError(f"{target} names a prefix; a presigned URL is for one object")
    signer = presigner(ctx.conn.backend)
    url = signer.presign(ctx.args.method, target.bucket, target.key, expires_in=ctx.args.expires_in)
    ctx.out.result(
        url,
        {
            "url": url,
            "method": ctx.args.method,
            "bucket": target.bucket,
            "key": target.key,
            "expires_in": ctx.args.expires_in,
        },
    )
    return 0
