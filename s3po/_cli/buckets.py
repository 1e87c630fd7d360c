"""``mb`` and ``rb``: make and remove buckets.

``rb`` refuses a bucket that holds objects unless ``--force`` is given; then it lists the
whole bucket first, deletes every object, aborts every incomplete multipart upload, and
removes the bucket only if all of that worked.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING

from s3po._cli.common import Remote, UsageError, parse_remote
from s3po._cli.plan import plan_rm
from s3po._cli.run import Settings, run_actions
from s3po._types import ObjectInfo
from s3po.backend.admin import bucket_admin

if TYPE_CHECKING:
    from s3po._cli.common import Context

__all__ = ["cmd_mb", "cmd_rb"]


def _bucket_of(text: str) -> Remote:
    where = parse_remote(text)
    if where.key.strip("/"):
        raise UsageError(f"{text!r} names a key; write just the bucket: s3://{where.bucket}")
    return Remote(where.bucket, "")


def cmd_mb(ctx: Context) -> int:
    """``s3po mb s3://bucket``: create the bucket (one that is already yours is fine)."""
    where = _bucket_of(ctx.args.url)
    line = f"make_bucket: {where.bucket}"
    record = {"action": "make_bucket", "bucket": where.bucket}
    if ctx.args.dry_run:
        ctx.out.action(f"(dry run) {line}", record | {"status": "dry-run"})
        return 0
    ctx.conn.create_bucket(where.bucket)
    ctx.out.action(line, record | {"status": "ok"})
    return 0


def cmd_rb(ctx: Context) -> int:
    """``s3po rb [--force] s3://bucket``: remove the bucket."""
    where = _bucket_of(ctx.args.url)
    admin = bucket_admin(ctx.conn.backend)  # before anything is deleted
    listing = ctx.conn.list(where.bucket, "")
    holds = any(isinstance(e, ObjectInfo) for e in itertools.islice(listing, 1))
    if holds and not ctx.args.force:
        raise UsageError(
            f"bucket {where.bucket!r} is not empty; add --force to delete its objects and then "
            "the bucket"
        )
    if ctx.args.force:
        actions = plan_rm(ctx.conn, where, recursive=True)
        status = run_actions(ctx, actions, Settings(jobs=ctx.opt("jobs", 8)), single=False)
        if status:
            ctx.out.error(f"bucket {where.bucket!r} is kept: not every object was deleted")
            return status
        if not ctx.args.dry_run:
            ctx.conn.cleanup(where.bucket, "", older_than=dt.timedelta(0))
    line = f"remove_bucket: {where.bucket}"
    record = {"action": "remove_bucket", "bucket": where.bucket}
    if ctx.args.dry_run:
        ctx.out.action(f"(dry run) {line}", record | {"status": "dry-run"})
        return 0
    admin.delete_bucket(where.bucket)
    ctx.out.action(line, record | {"status": "ok"})
    return 0
