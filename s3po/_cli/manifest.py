"""``s3po cp --from-manifest FILE``: the copies a manifest lists, resumable, on dask too.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from s3po._cli.common import UsageError
from s3po.manifest import FORMATS, copy_manifest, read_manifest

if TYPE_CHECKING:
    import argparse
    import concurrent.futures as cf
    from collections.abc import Iterator

    from s3po._cli.common import Context
    from s3po.client.jobs import Outcome
    from s3po.manifest import Entry

__all__ = ["add_manifest_options", "cmd_cp_manifest"]


def add_manifest_options(parser: argparse.ArgumentParser) -> None:
    """``cp``'s options for copies listed in a file."""
    group = parser.add_argument_group("copies from a manifest (no SRC and DST)")
    group.add_argument(
        "--from-manifest",
        metavar="FILE",
        help="copy each row of FILE: CSV 'source,destination' or JSON lines "
        '{"source": ..., "destination": ...}; rows done before are skipped',
    )
    group.add_argument(
        "--manifest-format",
        choices=FORMATS,
        help="the manifest's format (default: by its name or first character); 'inventory' "
        "is an S3 Inventory CSV of bucket,key, copied below --to",
    )
    group.add_argument(
        "--to", metavar="S3URL", help="for --manifest-format inventory: where objects go"
    )
    group.add_argument(
        "--report",
        metavar="FILE",
        help="where failed rows go, in the manifest's format (default NAME.failed.csv beside "
        "it); give it back to --from-manifest to retry them",
    )
    group.add_argument(
        "--done-log",
        metavar="FILE",
        help="the log of rows done, for resuming (default MANIFEST.done beside it)",
    )
    group.add_argument(
        "--dask",
        metavar="SCHEDULER",
        help="run on a dask.distributed cluster (tcp://host:8786): rows travel in groups",
    )


@contextlib.contextmanager
def _dask_executor(address: str | None) -> Iterator[cf.Executor | None]:
    if address is None:
        yield None
        return
    try:
        import distributed  # noqa: PLC0415 - only --dask needs it
    except ImportError:
        raise UsageError(
            "--dask needs dask.distributed: pip install distributed (on the workers too)"
        ) from None
    with distributed.Client(address) as client:  # type: ignore[no-untyped-call]
        yield client.get_executor()


def cmd_cp_manifest(ctx: Context) -> int:
    """Copy every row of ``--from-manifest``; failures go to ``--report``, done rows to a log."""
    args = ctx.args
    if args.src is not None or args.dst is not None:
        raise UsageError("cp --from-manifest takes no SRC or DST: the manifest lists them")
    jobs = ctx.opt("jobs", 8)
    if jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {jobs}")
    fmt, to = ctx.opt("manifest_format"), ctx.opt("to")
    if ctx.args.dry_run:
        for entry in read_manifest(args.from_manifest, fmt=fmt, to=to):
            ctx.out.action(f"(dry run) {_describe(entry)}", _record(entry, "dry-run"))
        return 0
    out = ctx.out

    def shown(outcome: Outcome) -> None:
        entry: Entry = outcome.job.tag
        if outcome.error is None:
            out.action(_describe(entry), _record(entry, "ok"))
        else:
            out.error(f"{_describe(entry)} failed: {outcome.error}")
            if out.json_mode:
                out.result("", _record(entry, "failed", error=str(outcome.error)))

    entries = sum(1 for _ in read_manifest(args.from_manifest, fmt=fmt, to=to))
    with (
        _dask_executor(ctx.opt("dask")) as executor,
        out.batch_bar("manifest", entries, 0) as bar,
    ):
        result = copy_manifest(
            ctx.conn,
            args.from_manifest,
            fmt=fmt,
            to=to,
            report=ctx.opt("report"),
            done_log=ctx.opt("done_log"),
            max_workers=jobs,
            executor=executor,
            on_progress=bar.on_progress,
            on_outcome=shown,
        )
    summary = (
        f"{result.copied} copied, {result.skipped} skipped (done before), {result.failed} failed"
        f" of {result.entries}"
    )
    if result.report is not None:
        summary += f"; failures in {result.report} (give it back to --from-manifest to retry)"
    if result.failed:
        out.error(summary)
    else:
        out.action(summary, {"action": "manifest", "status": "ok", "copied": result.copied})
    return 0 if result.ok else 1


def _describe(entry: Entry) -> str:
    return f"copy: {entry.source} to {entry.destination}"


def _record(entry: Entry, status: str, **extra: Any) -> dict[str, Any]:  # noqa: ANN401
    return {
        "action": "copy",
        "src": entry.source,
        "dst": entry.destination,
        "line": entry.line,
        "status": status,
        **extra,
    }
