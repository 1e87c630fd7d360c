"""``presign``: a URL that lets its holder GET or PUT one object without credentials.

The URL is signed locally with the connection's credentials (no request is made) and is
valid for ``--expires-in`` seconds, at most 7 days as SigV4 allows. Backends that cannot
sign URLs (the local backend keeps files on this machine) say so and exit 2.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from s3po._cli.common import UsageError, parse_remote
from s3po.backend.admin import presigner

if TYPE_CHECKING:
    from s3po._cli.common import Context

__all__ = ["cmd_presign"]


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
