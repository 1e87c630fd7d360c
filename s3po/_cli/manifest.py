"""``s3po cp --from-manifest FILE``: the copies a manifest lists, resumable, on dask too.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from s3po._cli.common import UsageError
from s3po._cli.run import LARGE_JOBS
from s3po.manifest import copy_manifest, read_manifest

if TYPE_CHECKING:
    import concurrent.futures as cf
    from collections.abc import Iterator

    from s3po._cli.common import Context
    from s3po.client.jobs import Outcome
    from s3po.manifest import Entry

__all__ = ["cmd_cp_manifest"]


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


def _jobs(ctx: Context) -> int:
    """``--jobs``, else the large-object default: a manifest's sizes are unknown up front."""
    jobs: int | None = ctx.opt("jobs")
    if jobs is None:
        return LARGE_JOBS
    if jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {jobs}")
    return jobs


def cmd_cp_manifest(ctx: Context) -> int:
    """Copy every row of ``--from-manifest``; failures go to ``--report``, done rows to a log."""
    args = ctx.args
    if args.src is not None or args.dst is not None:
        raise UsageError("cp --from-manifest takes no SRC or DST: the manifest lists them")
    jobs = _jobs(ctx)
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
            on_progress=bar.object_callback,
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
