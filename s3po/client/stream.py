"""Streams of jobs through a batch: outcomes as they finish, in bounded memory.

Two ways to run them, chosen by the batch's executor:

- **one job a task** (thread pools): each job is a call of the batch, on its executor,
  sharing its byte budget and pool; at most ``max_pending`` jobs are taken from the
  iterable and not yet handed back as outcomes.
- **groups** (a dask cluster, a process pool, or ``group_size=`` given): jobs travel in
  groups of ``group_size``; one task runs a group through the worker's own batch (its own
  connection, built from the Connection's pickled recipe, and ``max_workers`` concurrent
  transfers), and sends back one error per failed job, so a scheduler's per-task cost is
  paid once a group instead of once a key.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import itertools
import logging
import pickle
import queue
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from s3po.client.background import Handle
from s3po.client.jobs import DIRECT_OPS, Job, Outcome
from s3po.errors import ConfigError, TransferError

if TYPE_CHECKING:
    from s3po.client.batch import Batch

__all__ = ["DEFAULT_GROUP_SIZE", "GroupResult", "run_group", "stream_groups", "stream_jobs"]

log = logging.getLogger("s3po.batch")

#: Jobs a task carries on a cluster executor: enough that a group of tiny objects takes
#: well over dask's recommended 100 ms a task, few enough to spread over the workers.
DEFAULT_GROUP_SIZE = 500


def is_cluster(executor: cf.Executor) -> bool:
    """Whether ``executor`` runs tasks in other processes (dask, a process pool)."""
    if isinstance(executor, cf.ProcessPoolExecutor):
        return True
    return type(executor).__module__.split(".")[0] in {"distributed", "dask"}


def _size(value: object) -> int:
    size = getattr(value, "size", 0)
    return size if isinstance(size, int) else 0


def _start(batch: Batch, job: Job) -> Handle[Any]:
    """Begin ``job`` on ``batch``: a transfer call, or a direct call wrapped in a task."""
    method = getattr(batch, job.op)
    if job.op in DIRECT_OPS:
        call = functools.partial(method, *job.args, **job.kwargs)
        return batch.runner.submit(Handle(job.op, job.bucket, job.key), call)
    handle = method(*job.args, **job.kwargs)
    if not isinstance(handle, Handle):  # pragma: no cover - every handled op returns one
        msg = f"{job.op} did not return a Handle"
        raise TypeError(msg)
    return handle


def stream_jobs(
    batch: Batch, jobs: Iterable[Job], *, values: bool
) -> Generator[Outcome, None, None]:
    """Run ``jobs`` one a task on ``batch``; yield an outcome per job as it finishes."""
    runner = batch.runner
    finished: queue.SimpleQueue[tuple[int, Job, Handle[Any]]] = queue.SimpleQueue()
    outstanding: dict[int, Handle[Any]] = {}
    source = enumerate(jobs)
    exhausted = False
    try:
        while True:
            while not exhausted and len(outstanding) < runner.max_pending:
                taken = next(source, None)
                if taken is None:
                    exhausted = True
                    break
                index, job = taken
                try:
                    handle = _start(batch, job)
                except Exception as exc:  # noqa: BLE001 - a refused call is that job's outcome
                    runner.account(submitted=1, done=1, failed=1)
                    yield Outcome(index, job, None, exc)
                    continue
                handle.streamed = True
                runner.forget(handle)  # in case it failed before it was marked
                outstanding[index] = handle
                handle.add_done_callback(
                    lambda h, i=index, j=job: finished.put((i, j, h))  # type: ignore[misc]
                )
            if not outstanding:
                return
            index, job, handle = finished.get()
            del outstanding[index]
            error = handle.exception()
            if error is not None:
                yield Outcome(index, job, None, error)
            else:
                value = handle.result()
                yield Outcome(index, job, value if values else None, size=_size(value))
    finally:
        # The consumer stopped early (break, an error): what has not started never will.
        for handle in outstanding.values():
            if handle.inner is not None:
                handle.inner.cancel()


@dataclass(slots=True)
class GroupResult:
    """What a worker sends back for one group.

    Attributes:
        sizes: Bytes each job moved, by position in the group.
        errors: The failed jobs' errors, by position in the group.
        values: Every job's result (None for failures), or None when not asked for.
    """

    sizes: list[int] = field(default_factory=list)
    errors: dict[int, BaseException] = field(default_factory=dict)
    values: list[Any] | None = None


def connection_payload(conn: object) -> bytes:
    """The connection's recipe as bytes, for workers to rebuild it (no credentials).

    Raises:
        ConfigError: The connection does not pickle (it was built on a ready backend).
    """
    try:
        return pickle.dumps(conn)
    except TypeError as exc:
        raise ConfigError(
            f"a batch that sends groups of jobs to other processes needs a Connection made "
            f"from a backend name: {exc}"
        ) from exc
    except (pickle.PicklingError, AttributeError):
        # a callback or middleware defined in a function: cloudpickle (dask's) carries it
        import cloudpickle  # type: ignore[import-untyped]  # noqa: PLC0415

        return bytes(cloudpickle.dumps(conn))


def run_group(payload: bytes, jobs: list[Job], max_workers: int, values: bool) -> GroupResult:
    """Run one group of jobs on a worker through its own connection and batch.

    This is the task a cluster runs; it returns every failure by position, each error one
    that pickles.

    .. versionadded:: 0.4.0
    """
    conn = pickle.loads(payload)  # noqa: S301 - the batch's own connection, pickled by it
    result = GroupResult(sizes=[0] * len(jobs), values=[None] * len(jobs) if values else None)
    try:
        with conn.batch(max_workers) as batch:
            for outcome in batch.stream(jobs, values=values, group_size=1):
                if outcome.error is not None:
                    result.errors[outcome.index] = _portable(outcome.error, outcome.job)
                    continue
                result.sizes[outcome.index] = outcome.size
                if result.values is not None:
                    result.values[outcome.index] = outcome.value
    finally:
        conn.close()
    return result


def _portable(error: BaseException, job: Job) -> BaseException:
    """``error`` if it pickles, else a TransferError that names it."""
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    except Exception:  # noqa: BLE001 - any failure to travel is replaced
        return TransferError(
            f"{type(error).__name__}: {error}", bucket=job.bucket or None, key=job.key or None
        )
    return error


def stream_groups(
    batch: Batch, jobs: Iterable[Job], *, group_size: int, values: bool
) -> Generator[Outcome, None, None]:
    """Run ``jobs`` in groups, one task a group; yield an outcome per job."""
    runner = batch.runner
    executor = runner.executor
    payload = connection_payload(batch._conn)  # noqa: SLF001 - the batch's own connection
    finished: queue.SimpleQueue[tuple[int, list[Job], cf.Future[GroupResult]]] = queue.SimpleQueue()
    outstanding: dict[int, cf.Future[GroupResult]] = {}
    source = iter(jobs)
    start = 0
    exhausted = False
    try:
        while True:
            while not exhausted and len(outstanding) < runner.max_pending:
                group = list(itertools.islice(source, group_size))
                if not group:
                    exhausted = True
                    break
                runner.account(submitted=len(group))
                future = executor.submit(run_group, payload, group, batch.max_workers, values)
                outstanding[start] = future
                future.add_done_callback(
                    lambda f, s=start, g=group: finished.put((s, g, f))  # type: ignore[misc]
                )
                start += len(group)
            if not outstanding:
                return
            first, group, future = finished.get()
            del outstanding[first]
            yield from _outcomes(batch, first, group, future)
    finally:
        for future in outstanding.values():
            future.cancel()


def _outcomes(
    batch: Batch, first: int, group: list[Job], future: cf.Future[GroupResult]
) -> Iterator[Outcome]:
    try:
        result = future.result()
    except Exception as exc:  # noqa: BLE001 - the task failed whole: every job with it
        log.warning("a group of %d jobs failed whole: %r", len(group), exc)
        batch.runner.account(done=len(group), failed=len(group))
        for i, job in enumerate(group):
            yield Outcome(first + i, job, None, exc)
        return
    batch.runner.account(done=len(group), failed=len(result.errors), size=sum(result.sizes))
    for i, job in enumerate(group):
        error = result.errors.get(i)
        value = result.values[i] if result.values is not None and error is None else None
        yield Outcome(first + i, job, value, error, result.sizes[i])
