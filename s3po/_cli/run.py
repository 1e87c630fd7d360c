"""Carry out planned actions: one transfer with a byte bar, or a batch with an object bar.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from s3po._cli.common import USAGE_ERRORS, Local, Remote, Stdio
from s3po._cli.plan import download_size
from s3po.batch import Handle
from s3po.connection import Batch
from s3po.errors import (
    BatchError,
    NoSuchKey,
    PreconditionFailed,
    S3poError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from s3po._calls import Calls
    from s3po._cli.common import Context
    from s3po._cli.output import Output
    from s3po._cli.plan import Action
    from s3po.transfer import DownloadResult

__all__ = ["LARGE_JOBS", "SMALL_JOBS", "Settings", "jobs_for", "keep_existing", "run_actions"]

#: Transfers in flight without ``--jobs`` when the objects average at most
#: :data:`SMALL_OBJECT`: a small object's time is its round trip, not its bytes, so many at
#: once keep the store busy (the requests wait with the GIL released).
SMALL_JOBS = 32
#: ... and for larger objects, whose parts (or ranges) already run in parallel.
LARGE_JOBS = 8
SMALL_OBJECT = 1024 * 1024


def jobs_for(actions: Sequence[Action]) -> int:
    """The concurrency of a batch without ``--jobs``, from the sizes of its actions.

    A delete moves no bytes, so it counts as small; actions of unknown size count as large.

    .. versionadded:: 0.4.0
    """
    if not actions:
        return LARGE_JOBS
    sizes = [0 if a.kind == "delete" else a.size for a in actions]
    if any(size is None for size in sizes):
        return LARGE_JOBS
    small = sum(size or 0 for size in sizes) <= SMALL_OBJECT * len(sizes)
    return SMALL_JOBS if small else LARGE_JOBS


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Per-call options of ``cp`` and ``sync``.

    Attributes:
        compress: Codec for uploads, or None.
        headers: Headers for uploads (and replacing a copy's), or None.
        decompress: Undo Content-Encoding on downloads.
        retries: Retries after the first attempt, or None for the default.
        jobs: Concurrent transfers of a batch; None sizes it from the batch
            (:func:`jobs_for`).
        guess_content_type: Guess a file's Content-Type from its extension.
        no_clobber: Keep what exists at the destination (``cp --no-clobber``).
    """

    compress: str | None = None
    headers: Mapping[str, str] | None = None
    decompress: bool = True
    retries: int | None = None
    jobs: int | None = None
    guess_content_type: bool = True
    no_clobber: bool = False


def keep_existing(conn: Calls, actions: Sequence[Action]) -> list[Action]:
    """``--no-clobber``: downloads and copies onto something that exists become ``exists``.

    A local file is looked at and a destination object asked for (HEAD) now, as planned;
    uploads are left to the store's If-None-Match: * (atomic, so a key another writer
    creates meanwhile is kept too), which :func:`_start` sends.
    """
    kept = []
    for action in actions:
        dst = action.dst
        there = False
        if action.kind == "download" and isinstance(dst, Local):
            there = dst.path.exists()
        elif action.kind == "copy" and isinstance(dst, Remote):
            try:
                conn.head(dst.bucket, dst.key)
            except NoSuchKey:
                there = False
            else:
                there = True
        kept.append(dataclasses.replace(action, kind="exists") if there else action)
    return kept


def _kept(settings: Settings, action: Action, error: BaseException | None) -> bool:
    """Whether ``error`` is a ``--no-clobber`` upload refused because the key exists."""
    return settings.no_clobber and action.kind == "upload" and isinstance(error, PreconditionFailed)


def run_actions(
    ctx: Context, actions: Sequence[Action], settings: Settings, *, single: bool
) -> int:
    """Do ``actions`` (or, with ``--dry-run``, print them); return the exit status.

    ``single`` runs the one action directly, with a byte-level progress bar; otherwise the
    actions go through ``conn.batch(jobs)`` with a bar counting objects.

    The status is 1 when a transfer failed or an entry was refused, else 2 when an entry
    was skipped with a warning (a broken symlink, a symlink loop: aws-cli's status for
    its warnings), else 0.
    """
    out = ctx.out
    refused = [a for a in actions if a.kind == "skip" and not a.warning]
    warned = [a for a in actions if a.kind == "skip" and a.warning]
    same = sum(1 for a in actions if a.kind == "up-to-date")
    todo = [a for a in actions if a.kind not in {"skip", "up-to-date", "exists"}]
    for action in refused:
        out.error(action.describe())
        if out.json_mode:
            out.result("", action.record("failed", error=action.reason))
    for action in warned:
        out.warning(action.describe())
        if out.json_mode:
            out.result("", action.record("skipped", warning=action.reason))
    _say_kept(out, actions)
    if ctx.args.dry_run:
        for action in todo:
            out.action(f"(dry run) {action.describe()}", action.record("dry-run"))
        failed = 0
    elif single and len(todo) == 1:
        failed = _run_one(ctx, todo[0], settings)
    else:
        failed = _run_batch(ctx, todo, settings)
    _say_up_to_date(ctx, same)
    if failed or refused:
        return 1
    return 2 if warned else 0


def _say_kept(out: Output, actions: Sequence[Action]) -> None:
    """Print the destinations ``--no-clobber`` keeps, as they were planned."""
    for action in actions:
        if action.kind == "exists":
            out.action(action.describe(), action.record("exists"))


def _say_up_to_date(ctx: Context, count: int) -> None:
    """Say ``N up to date`` on stderr for the sync pairs found equal (stdout: actions only)."""
    if count:
        ctx.out.note(f"{count} up to date")


def _report(ctx: Context, action: Action, error: BaseException | None, settings: Settings) -> None:
    if _kept(settings, action, error):
        kept = dataclasses.replace(action, kind="exists")
        ctx.out.action(kept.describe(), kept.record("exists"))
        return
    if error is None:
        ctx.out.action(action.describe(), action.record("ok"))
        return
    ctx.out.error(f"{action.describe()} failed: {error}")
    if ctx.out.json_mode:
        ctx.out.result("", action.record("failed", error=str(error)))


def _run_one(ctx: Context, action: Action, settings: Settings) -> int:
    total = action.size
    if action.kind == "download" and total is None and ctx.out.progress_enabled:
        assert isinstance(action.src, Remote)  # noqa: S101 - downloads read objects
        info = ctx.conn.head(action.src.bucket, action.src.key)
        total = download_size(info, decompress=settings.decompress)
    try:
        finishing = "completing the upload" if action.kind == "upload" else "finishing"
        with ctx.out.transfer_bar(str(action.src), total, finishing=finishing) as progress:
            _start(ctx.conn, ctx.conn, action, settings, progress)
    except USAGE_ERRORS:
        raise
    except (S3poError, OSError) as exc:
        if _kept(settings, action, exc):
            _report(ctx, action, exc, settings)
            return 0
        if ctx.args.debug:
            raise
        _report(ctx, action, exc, settings)
        return 1
    _report(ctx, action, None, settings)
    return 0


def _run_batch(ctx: Context, actions: Sequence[Action], settings: Settings) -> int:
    failed = 0
    kept: list[Action] = []
    total_bytes = sum(a.size or 0 for a in actions)
    with ctx.out.batch_bar("transfers", len(actions), total_bytes) as bar:
        try:
            jobs = settings.jobs or jobs_for(actions)
            with ctx.conn.batch(jobs, on_progress=bar.object_callback) as batch:
                for action in actions:
                    try:
                        handle = _start(batch, ctx.conn, action, settings, bar.byte_callback)
                    except S3poError as exc:
                        failed += 1
                        _report(ctx, action, exc, settings)
                        continue
                    handle.add_done_callback(_reporter(ctx, action, settings, kept))
        except BatchError as group:
            # --no-clobber uploads refused because the key exists were reported as kept.
            failed += len(group.exceptions) - len(kept)
    return failed


def _reporter(
    ctx: Context, action: Action, settings: Settings, kept: list[Action]
) -> Callable[[Any], None]:
    def done(handle: Handle[Any]) -> None:
        error = handle.exception()
        if _kept(settings, action, error):
            kept.append(action)
        # A done-callback must not raise: on a handle that finished already it runs on the
        # main thread, where a closed stdout raises BrokenPipeError (the futures module would
        # log it). The closed pipe is recorded on ctx.out, and the command ends with 141.
        with contextlib.suppress(BrokenPipeError):
            _report(ctx, action, error, settings)

    return done


def _start(
    calls: Calls,
    conn: Calls,
    action: Action,
    settings: Settings,
    progress: Callable[[int], None] | None,
) -> Any:  # noqa: ANN401 - a result, or a Handle in a batch
    """Begin ``action`` through ``calls`` (the connection, or a batch of it)."""
    src, dst = action.src, action.dst
    if action.kind == "upload":
        assert isinstance(dst, Remote)  # noqa: S101 - planned so
        if isinstance(src, Local):
            return calls.upload_file(
                dst.bucket,
                dst.key,
                src.path,
                headers=settings.headers,
                keep_mtime=True,  # the size and mtime sync compares
                delete=action.move,
                guess_content_type=settings.guess_content_type,
                progress=progress,
                if_none_match="*" if settings.no_clobber else None,
                **_overrides(settings),
            )
        return calls.upload_fileobj(
            dst.bucket,
            dst.key,
            sys.stdin.buffer,
            headers=settings.headers,
            progress=progress,
            if_none_match="*" if settings.no_clobber else None,
            **_overrides(settings),
        )
    if action.kind == "download":
        assert isinstance(src, Remote)  # noqa: S101 - planned so
        after = _after_download(conn, src) if action.move else None
        if isinstance(dst, Stdio):
            sys.stdout.flush()
            return calls.download_fileobj(
                src.bucket,
                src.key,
                sys.stdout.buffer,
                decompress=settings.decompress,
                progress=progress,
                callback=after,
            )
        assert isinstance(dst, Local)  # noqa: S101 - planned so
        return calls.download_file(
            src.bucket,
            src.key,
            dst.path,
            decompress=settings.decompress,
            progress=progress,
            callback=after,
            keep_mtime=True,  # so a second sync finds nothing to do
        )
    fn = _copy if action.kind == "copy" else _delete
    work = fn(conn, action, settings, progress)
    if isinstance(calls, Batch):
        where = src if isinstance(src, Remote) else dst
        bucket, key = (where.bucket, where.key) if isinstance(where, Remote) else ("", str(src))
        return calls.runner.submit(Handle(action.kind, bucket, key), work)
    return work()


def _overrides(settings: Settings) -> dict[str, Any]:
    """The upload options that differ from the connection's own configuration.

    The connection is opened with ``--retries`` and stores uncompressed by default, so only
    ``--compress`` changes anything; passing the rest per call would make every call derive
    a new configuration (``TransferConfig.evolve``), a cost the main thread pays per file.
    """
    return {"compress": settings.compress} if settings.compress is not None else {}


def _after_download(conn: Calls, src: Remote) -> Callable[[DownloadResult], None]:
    """A move's second half: the object goes once its download succeeded."""

    def after(_result: DownloadResult) -> None:
        conn.delete(src.bucket, src.key)

    return after


def _copy(
    conn: Calls, action: Action, settings: Settings, progress: Callable[[int], None] | None
) -> Callable[[], object]:
    src, dst = action.src, action.dst
    assert isinstance(src, Remote)  # noqa: S101 - planned so
    assert isinstance(dst, Remote)  # noqa: S101 - planned so

    def work() -> object:
        info = conn.copy(src.bucket, src.key, dst.bucket, dst.key, headers=settings.headers)
        if progress is not None:
            progress(info.size)
        if action.move:
            conn.delete(src.bucket, src.key)
        return info

    return work


def _delete(
    conn: Calls, action: Action, _settings: Settings, _progress: Callable[[int], None] | None
) -> Callable[[], object]:
    target = action.src

    def work() -> object:
        if isinstance(target, Remote):
            conn.delete(target.bucket, target.key)
        elif isinstance(target, Local):
            target.path.unlink()
        return None

    return work
