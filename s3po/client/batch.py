"""Batch: the calls of a Connection run concurrently, each returning a Handle at once.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any, Self, TypeVar

from s3po._scope import ByteBudget, Scope
from s3po._types import MIB
from s3po.client.background import BatchProgress, Handle, Runner
from s3po.client.base import Owner
from s3po.client.calls import CallsOf
from s3po.client.options import Handled
from s3po.client.workers import Workers
from s3po.errors import ConfigError

if TYPE_CHECKING:
    from types import TracebackType

    from s3po.client.jobs import BatchResult, Job, Outcome

__all__ = ["Batch"]

T = TypeVar("T")


class Batch(CallsOf[Handled]):
    """Concurrent transfers: every call returns a :class:`~s3po.Handle` at once.

    Leaving the ``with`` block waits for every transfer; if any failed, one
    :class:`~s3po.BatchError` names them all, after all the others finished. Ctrl-C
    cancels what has not started.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        conn: Owner,
        max_workers: int = 8,
        *,
        executor: cf.Executor | None = None,
        max_pending: int | None = None,
        max_inflight_bytes: int | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
        group_size: int | None = None,
    ) -> None:
        """Make a batch over ``conn`` with ``max_workers`` concurrent transfers."""
        if max_workers < 1:
            raise ConfigError("a batch needs at least one worker")
        if group_size is not None and group_size < 1:
            raise ConfigError(f"group_size must be 1 or more, not {group_size}")
        self._conn_ref = conn
        self.max_workers = max_workers
        self.group_size = group_size
        own = executor is None
        if executor is None or isinstance(executor, cf.ThreadPoolExecutor):
            part = conn.config.chunk.part_size
            budget = max_inflight_bytes or max(256 * MIB, 4 * part * max_workers)
            self._scope = Scope(ByteBudget(budget), workers=max_workers)
        pool = executor or Workers(max_workers, name="s3po-batch")
        self.runner = Runner(
            pool,
            max_pending=max_pending or 2 * max_workers,
            own_executor=own,
            on_progress=on_progress,
        )
        self._kept: list[Handle[Any]] = []

    @property
    def _conn(self) -> Owner:
        return self._conn_ref

    def _dispatch(
        self,
        op: str,
        bucket: str,
        key: str,
        fn: Callable[[], T],
        *,
        background: bool,  # noqa: ARG002 - every batch call runs in the background
        callback: Callable[[T], object] | None,
    ) -> Handle[T]:
        return self.runner.submit(Handle(op, bucket, key), fn, callback)

    def stream(
        self, jobs: Iterable[Job], *, values: bool = True, group_size: int | None = None
    ) -> Generator[Outcome, None, None]:
        """Run ``jobs`` and yield one :class:`~s3po.Outcome` per job, as each finishes.

        Jobs are taken from the iterable only as earlier ones finish (at most
        ``max_pending`` unfinished at once), and nothing is kept once its outcome is
        yielded, so a generator of a million jobs runs in the memory of a few. Failures are
        outcomes too (``outcome.error``): they are the caller's, and do not make the end of
        the ``with`` block raise. Stopping early (``break``) cancels the jobs not started.

        On a cluster executor (a dask client's ``get_executor()``, a process pool), jobs
        travel in groups: one task runs ``group_size`` jobs (default 500) through the
        worker's own connection and batch of ``max_workers`` transfers, and each failed
        job's error comes back on its own outcome. The Connection must be made from a
        backend name (it travels as its recipe; credentials are resolved on the worker).

        Args:
            jobs: The calls to make (see :class:`~s3po.Job`).
            values: Whether outcomes carry the calls' results (False: only errors, which
                saves sending results back from a cluster).
            group_size: Jobs per task; 1 runs every job as its own task on any executor.
                Default: the batch's ``group_size``, else 500 on a cluster executor and 1
                on a thread pool.

        .. versionadded:: 0.4.0
        """
        # jobs travel through the stream module, which a batch of plain calls never needs
        from s3po.client.stream import (  # noqa: PLC0415
            DEFAULT_GROUP_SIZE,
            is_cluster,
            stream_groups,
            stream_jobs,
        )

        size = group_size or self.group_size
        if size is None:
            size = DEFAULT_GROUP_SIZE if is_cluster(self.runner.executor) else 1
        if size < 1:
            raise ConfigError(f"group_size must be 1 or more, not {size}")
        if size == 1:
            return stream_jobs(self, jobs, values=values)
        return stream_groups(self, jobs, group_size=size, values=values)

    def run(self, jobs: Iterable[Job], *, group_size: int | None = None) -> BatchResult:
        """Run ``jobs`` to the end; keep counters and the failures, not the results.

        The memory it needs does not grow with the number of jobs, only with the number
        of failures. Call :meth:`~s3po.BatchResult.raise_for_errors` on the result to
        raise one :class:`~s3po.BatchError` for them.

        .. versionadded:: 0.4.0
        """
        from s3po.client.jobs import BatchResult  # noqa: PLC0415 - see stream()

        started = time.monotonic()
        submitted = done = size = 0
        failures: list[Outcome] = []
        for outcome in self.stream(jobs, values=False, group_size=group_size):
            done += 1
            submitted = max(submitted, outcome.index + 1)
            size += outcome.size
            if outcome.error is not None:
                failures.append(outcome)
        return BatchResult(
            submitted=submitted,
            done=done,
            failed=len(failures),
            bytes=size,
            seconds=time.monotonic() - started,
            failures=tuple(failures),
        )

    def wait(self) -> None:
        """Wait for every transfer so far; raise BatchError if any failed.

        .. versionadded:: 0.1.0
        """
        self.runner.wait()
        self.runner.raise_for_errors("transfers")

    def _keep(self, handle: object) -> None:
        if isinstance(handle, Handle):
            self._kept.append(handle)

    def results(self) -> list[Any]:
        """The results of the batch's ``upload`` and ``download`` calls, in call order.

        The original s3po's ``Batch.results()``: it waits for every transfer, and raises
        :class:`~s3po.BatchError` if any failed (the original gave None for those). Only the
        calls by the original's names ``upload`` and ``download`` are kept for it, so a
        batch of a million ``upload_file`` calls holds no million results; every call's
        :class:`~s3po.Handle` gives its own result.

        .. versionadded:: 0.4.0
        """
        self.wait()
        return [handle.value for handle in self._kept]

    def success(self) -> bool:
        """Whether every transfer so far succeeded (waits for them): the original's name.

        .. versionadded:: 0.4.0
        """
        self.runner.wait()
        return not self.runner.failures()

    def __enter__(self) -> Self:
        """Return self."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Wait for everything and raise BatchError for failures; cancel on Ctrl-C."""
        try:
            if exc is not None:
                self.cancel()
            self.runner.wait()
        except BaseException:
            # Ctrl-C while waiting: stop promptly; running multipart uploads abort.
            self.cancel()
            self.runner.wait(timeout=30)
            raise
        finally:
            self.runner.shutdown()
            if self._scope is not None:
                self._scope.close()
        if exc is None:
            self.runner.raise_for_errors("transfers")

    def cancel(self) -> None:
        """Stop the batch: drop queued transfers; running multipart uploads abort.

        .. versionadded:: 0.1.0
        """
        if self._scope is not None:
            self._scope.cancelled.set()
        self.runner.cancel()
