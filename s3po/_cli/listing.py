"""``ls`` (objects, prefixes, or with no URL the buckets) and ``du`` (the size of a prefix).

The human lines have the shape of ``aws s3 ls``, so scripts that cut its columns keep
working: a date and time (UTC), the size right-aligned in 10 columns, and the name relative
to the listed prefix; ``PRE name/`` lines for the folders come first; ``-r`` shows full keys.
``--json`` prints one record per entry instead.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from s3po._cli.common import parse_remote
from s3po._cli.output import human_size
from s3po._types import CommonPrefix, ObjectInfo
from s3po.backend.admin import bucket_admin

if TYPE_CHECKING:
    from s3po._cli.common import Context

__all__ = ["cmd_du", "cmd_ls", "object_record", "when"]

#: The width of the date, a space and the size column; ``PRE`` is right-aligned to it.
_LEAD = 30


def when(value: dt.datetime | None) -> str:
    """A time as ``YYYY-MM-DD HH:MM:SS`` in UTC, or ``-`` when unknown."""
    if value is None:
        return "-"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def object_record(info: ObjectInfo) -> dict[str, Any]:
    """The JSON record of a listed object."""
    return {
        "type": "object",
        "bucket": info.bucket,
        "key": info.key,
        "size": info.size,
        "last_modified": info.last_modified.isoformat() if info.last_modified else None,
        "etag": info.etag,
    }


def _size(n: int, *, human: bool) -> str:
    return human_size(n) if human else str(n)


def _buckets(ctx: Context) -> int:
    for bucket in bucket_admin(ctx.conn.backend).list_buckets():
        created = bucket.created.isoformat() if bucket.created else None
        ctx.out.result(
            f"{when(bucket.created)} {bucket.name}",
            {"type": "bucket", "bucket": bucket.name, "created": created},
        )
    return 0


def cmd_ls(ctx: Context) -> int:
    """``s3po ls [s3://bucket/prefix]``: buckets, or folders first and then objects.

    Exit status 1 when a prefix matches nothing (an empty bucket lists fine).
    """
    if ctx.args.url is None:
        return _buckets(ctx)
    where = parse_remote(ctx.args.url)
    recursive = bool(ctx.args.recursive)
    human = bool(ctx.args.human_readable)
    objects: list[ObjectInfo] = []
    found = 0
    for entry in ctx.conn.list(where.bucket, where.key, delimiter=None if recursive else "/"):
        found += 1
        if isinstance(entry, CommonPrefix):
            name = entry.prefix.rstrip("/").rsplit("/", 1)[-1] + "/"
            record = {"type": "prefix", "bucket": where.bucket, "prefix": entry.prefix}
            ctx.out.result(f"{'PRE':>{_LEAD}} {name}", record)
        else:
            objects.append(entry)
    for info in objects:
        name = info.key if recursive else info.key.rsplit("/", 1)[-1]
        line = f"{when(info.last_modified)} {_size(info.size, human=human):>10} {name}"
        ctx.out.result(line, object_record(info))
    if ctx.args.summarize:
        _summary(ctx, where.bucket, where.key, len(objects), sum(i.size for i in objects), human)
    return 1 if found == 0 and where.key else 0


def _summary(ctx: Context, bucket: str, prefix: str, count: int, total: int, human: bool) -> None:
    size = _size(total, human=human)
    ctx.out.result(
        f"\n{'Total Objects:':>14} {count}\n{'Total Size:':>14} {size}",
        {"type": "summary", "bucket": bucket, "prefix": prefix, "objects": count, "size": total},
    )


def cmd_du(ctx: Context) -> int:
    """``s3po du s3://bucket/prefix``: the stored size and number of objects below it."""
    where = parse_remote(ctx.args.url)
    count = total = 0
    for entry in ctx.conn.list(where.bucket, where.key):
        if isinstance(entry, ObjectInfo):
            count += 1
            total += entry.size
    size = _size(total, human=bool(ctx.args.human_readable))
    ctx.out.result(
        f"{size}\t{count} objects\t{where}",
        {"type": "summary", "bucket": where.bucket, "prefix": where.key, "objects": count,
         "size": total},
    )  # fmt: skip
    return 0
