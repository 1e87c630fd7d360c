"""One function per subcommand; each takes the :class:`~s3po._cli.common.Context`.

Every command returns its exit status; errors it cannot handle propagate to
:func:`s3po.cli.main`, which turns them into one line and a status.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import sys

from s3po._cli.common import (
    USAGE_ERRORS,
    Context,
    Remote,
    UsageError,
    parse_duration,
    parse_header_options,
    parse_location,
    parse_remote,
)
from s3po._cli.filters import Filters, select
from s3po._cli.listing import object_record, when
from s3po._cli.plan import plan_cp, plan_rm, plan_sync
from s3po._cli.run import SMALL_JOBS, Settings, keep_existing, run_actions
from s3po._headers import parse_headers
from s3po.errors import S3poError

__all__ = ["cmd_cat", "cmd_cleanup", "cmd_cp", "cmd_head", "cmd_mv", "cmd_rm", "cmd_sync"]


def _settings(ctx: Context) -> Settings:
    """Read and check the transfer options before anything is listed or moved."""
    compress = ctx.opt("compress")
    if compress is not None:
        ctx.conn.registries.codecs.get(compress)
    headers = parse_header_options(ctx.opt("header"), ctx.opt("content_type"))
    parse_headers(headers)
    jobs = ctx.opt("jobs")
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {jobs}")
    return Settings(
        compress=compress,
        headers=headers,
        decompress=not bool(ctx.opt("no_decompress")),
        retries=ctx.args.retries,
        jobs=jobs,
        guess_content_type=bool(ctx.opt("guess_mime_type", default=True)),
        no_clobber=bool(ctx.opt("no_clobber")),
    )


# -- the commands -----------------------------------------------------------------------


def cmd_cp(ctx: Context, *, move: bool = False) -> int:
    """``s3po cp SRC DST``: copy between local paths, objects and ``-``."""
    if ctx.opt("from_manifest") is not None:
        from s3po._cli.manifest import cmd_cp_manifest  # noqa: PLC0415 - only for manifests

        return cmd_cp_manifest(ctx)
    if ctx.args.src is None or ctx.args.dst is None:
        raise UsageError("cp needs SRC and DST (or --from-manifest FILE)")
    settings = _settings(ctx)
    src, dst = parse_location(ctx.args.src), parse_location(ctx.args.dst)
    recursive = bool(ctx.opt("recursive"))
    move = move or bool(ctx.opt("delete_source"))
    follow = bool(ctx.opt("follow_symlinks", default=True))
    actions = plan_cp(ctx.conn, src, dst, recursive=recursive, move=move, follow_symlinks=follow)
    actions = select(actions, Filters.of(ctx.opt("filters")), src)
    if settings.no_clobber:
        actions = keep_existing(ctx.conn, actions)
    return run_actions(ctx, actions, settings, single=not recursive)


def cmd_mv(ctx: Context) -> int:
    """``s3po mv SRC DST``: ``cp`` that deletes each source once its copy is verified."""
    return cmd_cp(ctx, move=True)


def cmd_sync(ctx: Context) -> int:
    """``s3po sync SRC DST``: copy what differs, optionally delete what SRC lacks."""
    from s3po._cli.compare import sync_rule  # noqa: PLC0415 - hashes, only for sync

    settings = _settings(ctx)
    src, dst = parse_location(ctx.args.src), parse_location(ctx.args.dst)
    differs = sync_rule(
        ctx.args.size_only,
        ctx.args.exact_timestamps,
        ctx.args.checksum,
        decompress=settings.decompress,
    )
    actions = plan_sync(
        ctx.conn,
        src,
        dst,
        delete=ctx.opt("delete"),
        jobs=settings.jobs or SMALL_JOBS,
        differs=differs,
        decompress=settings.decompress,
        follow_symlinks=bool(ctx.opt("follow_symlinks", default=True)),
    )
    actions = select(actions, Filters.of(ctx.opt("filters")), src, dst)
    return run_actions(ctx, actions, settings, single=False)


def cmd_cat(ctx: Context) -> int:
    """``s3po cat s3://b/k ...``: write objects (decompressed) to standard output.

    Each object is written in turn; one that fails is named on stderr and the rest are still
    written (exit status 1, or 2 when one of the failures was bad input, an unknown codec).
    """
    targets = [parse_remote(url) for url in ctx.args.urls]
    for target in targets:
        if target.is_folder:
            raise UsageError(f"{target} names a prefix, not an object")
    decompress = not bool(ctx.opt("no_decompress"))
    sys.stdout.flush()
    status = 0
    for target in targets:
        try:
            ctx.conn.download_fileobj(
                target.bucket,
                target.key,
                sys.stdout.buffer,
                decompress=decompress,
                progress=ctx.out.throttle,
            )
        except S3poError as exc:
            if ctx.args.debug or len(targets) == 1:
                raise
            # one object's failure does not stop the others; the status says it failed
            status = max(status, 2 if isinstance(exc, USAGE_ERRORS) else 1)
            ctx.out.error(f"cat {target}: {exc}")
    sys.stdout.buffer.flush()
    return status


def cmd_head(ctx: Context) -> int:
    """``s3po head s3://b/k``: an object's size, ETag, headers and metadata."""
    target = parse_remote(ctx.args.url)
    if target.is_folder:
        raise UsageError(f"{target} names a prefix, not an object")
    info = ctx.conn.head(target.bucket, target.key)
    h = info.headers
    fields = [
        ("URL", str(target)),
        ("Size", str(info.size)),
        ("Last-Modified", when(info.last_modified)),
        ("ETag", info.etag),
        ("Content-Type", h.content_type),
        ("Content-Encoding", h.content_encoding),
        ("Cache-Control", h.cache_control),
        ("Content-Disposition", h.content_disposition),
        ("Content-Language", h.content_language),
        ("Version-Id", info.version_id),
    ]
    fields += [(name, value) for name, value in sorted(h.extra.items())]
    fields += [(f"x-amz-meta-{name}", value) for name, value in sorted(h.metadata.items())]
    lines = [f"{name}: {value}" for name, value in fields if value is not None]
    record = object_record(info) | {
        "content_type": h.content_type,
        "content_encoding": h.content_encoding,
        "cache_control": h.cache_control,
        "content_disposition": h.content_disposition,
        "content_language": h.content_language,
        "version_id": info.version_id,
        "metadata": dict(h.metadata),
        "extra": dict(h.extra),
    }
    ctx.out.result("\n".join(lines), record)
    return 0


def cmd_rm(ctx: Context) -> int:
    """``s3po rm [-r] s3://b/k``: delete an object, or everything under a prefix."""
    target = parse_remote(ctx.args.url)
    recursive = bool(ctx.opt("recursive"))
    actions = plan_rm(ctx.conn, target, recursive=recursive)
    actions = select(actions, Filters.of(ctx.opt("filters")), target)
    jobs = ctx.opt("jobs", 8)
    return run_actions(ctx, actions, Settings(jobs=jobs), single=not recursive)


def cmd_cleanup(ctx: Context) -> int:
    """``s3po cleanup s3://b/prefix``: abort old incomplete multipart uploads."""
    # only for cleanup
    from s3po.resume import busy_uploads, stale_journals, store_name  # noqa: PLC0415

    where = parse_remote(ctx.args.url)
    older_than = parse_duration(ctx.args.older_than)
    store = store_name(ctx.conn.backend)
    every = stale_journals(store, where.bucket, where.key)
    if ctx.args.dry_run:
        now = dt.datetime.now(dt.UTC)
        busy = busy_uploads()
        uploads = [
            u
            for u in ctx.conn.transfer.list_multipart(where.bucket, where.key)
            if (u.initiated is None or now - u.initiated >= older_than) and u.upload_id not in busy
        ]
    else:
        uploads = ctx.conn.cleanup(where.bucket, where.key, older_than=older_than)
    prefix = "(dry run) " if ctx.args.dry_run else ""
    for upload in uploads:
        url = str(Remote(upload.bucket, upload.key))
        ctx.out.action(
            f"{prefix}abort: {url} (upload {upload.upload_id}, started {when(upload.initiated)})",
            {
                "action": "abort",
                "src": url,
                "upload_id": upload.upload_id,
                "initiated": upload.initiated.isoformat() if upload.initiated else None,
                "status": "dry-run" if ctx.args.dry_run else "ok",
            },
        )
    aborted = {u.upload_id for u in uploads}
    if ctx.args.dry_run:
        gone = stale_journals(
            store, where.bucket, where.key, older_than=older_than, aborted=aborted
        )
    else:  # Connection.cleanup removed them
        gone = [j for j in every if not j.path.exists()]
    for journal in gone:
        url = str(Remote(journal.bucket, journal.key)) if journal.bucket else "(damaged)"
        ctx.out.action(
            f"{prefix}remove resume journal: {url} ({journal.kind} of {journal.local or '?'})",
            {
                "action": "remove-journal",
                "src": url,
                "journal": str(journal.path),
                "kind": journal.kind,
                "local": journal.local,
                "status": "dry-run" if ctx.args.dry_run else "ok",
            },
        )
    return 0
