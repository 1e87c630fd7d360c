"""Jobs, outcomes and batch results: a batch described as data, for streams of any length.

A :class:`Job` names one call of a batch (``upload_string``, ``download_file``, ``copy``,
...) with its arguments, as data that pickles, so a batch can take its work from an
iterator (a generator over a million keys, a manifest read line by line) and a cluster
executor can carry groups of jobs to its workers. :meth:`Batch.stream
<s3po.Batch.stream>` yields one :class:`Outcome` per job as it finishes;
:meth:`Batch.run <s3po.Batch.run>` keeps only counters and the failures, in a
:class:`BatchResult`.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from s3po.errors import BatchError, ConfigError

__all__ = ["DIRECT_OPS", "HANDLED_OPS", "BatchResult", "Job", "Outcome"]

#: Calls that return a Handle in a batch (they run on the batch's executor).
HANDLED_OPS = frozenset(
    {
        "upload",
        "upload_string",
        "upload_file",
        "upload_fileobj",
        "uploadString",
        "uploadFile",
        "uploadFileobj",
        "download",
        "download_bytes",
        "download_string",
        "download_file",
        "download_fileobj",
        "downloadBytes",
        "downloadString",
        "downloadFile",
        "downloadFileobj",
    }
)
#: Calls that a batch runs at once; as jobs they run on the batch's executor too.
DIRECT_OPS = frozenset({"copy", "delete", "exists", "head"})
_OPS = HANDLED_OPS | DIRECT_OPS


class Job:
    """One call of a batch, as data: ``Job("upload_string", "bucket", "key", "text")``.

    The positional and keyword arguments are the call's own, exactly as they would be
    given to :class:`~s3po.Batch`'s method of that name. A job pickles when its arguments
    do, so it can travel to the workers of a cluster.

    Attributes:
        op: The call's name: a transfer call (``upload_string``, ``upload_file``,
            ``download_bytes``, ``download_file``, ..., in either spelling) or ``copy``,
            ``delete``, ``head``, ``exists``.
        args: The call's positional arguments.
        kwargs: The call's keyword arguments.
        tag: Anything of yours that identifies the job (a manifest's line number, say); it
            is not passed to the call, and comes back on the job's :class:`Outcome`.

    Raises:
        ConfigError: ``op`` is not a call a batch runs.

    .. versionadded:: 0.4.0
    """

    __slots__ = ("args", "kwargs", "op", "tag")

    op: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    tag: Any

    def __init__(self, op: str, /, *args: Any, tag: Any = None, **kwargs: Any) -> None:  # noqa: ANN401
        """Describe the call ``op(*args, **kwargs)``."""
        if op not in _OPS:
            close = difflib.get_close_matches(str(op), sorted(_OPS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(o for o in _OPS if o.islower()))
            raise ConfigError(f"a batch job cannot run {op!r}{hint} (jobs run: {known})")
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "kwargs", kwargs)
        object.__setattr__(self, "tag", tag)

    def __setattr__(self, name: str, value: object) -> None:
        """Refuse changes: a job is a value."""
        msg = "a Job cannot be changed; make a new one"
        raise AttributeError(msg)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as its call."""
        return (_rebuild_job, (self.op, self.args, dict(self.kwargs), self.tag))

    def __eq__(self, other: object) -> bool:
        """Jobs are equal when they make the same call with the same tag."""
        if not isinstance(other, Job):
            return NotImplemented
        return (self.op, self.args, dict(self.kwargs), self.tag) == (
            other.op,
            other.args,
            dict(other.kwargs),
            other.tag,
        )

    __hash__ = None  # type: ignore[assignment]  # arguments may be unhashable

    @property
    def bucket(self) -> str:
        """The bucket the job writes to or reads from (a copy's destination bucket)."""
        return str(self._where()[0])

    @property
    def key(self) -> str:
        """The key the job writes to or reads from (a copy's destination key)."""
        return str(self._where()[1])

    def _where(self) -> tuple[object, object]:
        first = 2 if self.op == "copy" else 0
        args = self.args[first : first + 2]
        bucket = args[0] if args else self.kwargs.get("bucket", "")
        key = args[1] if len(args) > 1 else self.kwargs.get("key", "")
        return bucket, key

    def __repr__(self) -> str:
        """Show the call (not its data: an upload's bytes may be large)."""
        tag = "" if self.tag is None else f" tag={self.tag!r}"
        return f"<Job {self.op} s3://{self.bucket}/{self.key}{tag}>"


def _rebuild_job(op: str, args: tuple[Any, ...], kwargs: dict[str, Any], tag: Any) -> Job:  # noqa: ANN401
    return Job(op, *args, tag=tag, **kwargs)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one job of a stream ended.

    Attributes:
        index: The job's position in the iterable it came from (0 for the first).
        job: The job.
        value: The call's result (None on failure, and for successes of a
            :meth:`~s3po.Batch.run`, which does not keep them).
        error: The error it raised, or None.
        size: Bytes the job moved (its result's ``size``; 0 for failures and for calls
            whose result has none).

    .. versionadded:: 0.4.0
    """

    index: int
    job: Job
    value: Any = None
    error: BaseException | None = None
    size: int = 0

    @property
    def ok(self) -> bool:
        """Whether the job succeeded."""
        return self.error is None

    @property
    def bucket(self) -> str:
        """The job's bucket."""
        return self.job.bucket

    @property
    def key(self) -> str:
        """The job's key."""
        return self.job.key


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchResult:
    """What :meth:`Batch.run <s3po.Batch.run>` keeps: counters, and the failures.

    Attributes:
        submitted: Jobs taken from the iterable.
        done: Jobs finished, failed or not.
        failed: Jobs that failed.
        bytes: Bytes moved by the jobs that succeeded (their results' ``size``).
        seconds: Time from the first job to the last outcome.
        failures: The failed jobs' outcomes, in the order they finished.

    .. versionadded:: 0.4.0
    """

    submitted: int
    done: int
    failed: int
    bytes: int
    seconds: float
    failures: tuple[Outcome, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether every job succeeded."""
        return self.failed == 0

    @property
    def objects_per_second(self) -> float:
        """Jobs finished per second."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def raise_for_errors(self) -> None:
        """Raise one :class:`~s3po.BatchError` naming the failed jobs, if any."""
        if not self.failures:
            return
        errors = [o.error for o in self.failures if isinstance(o.error, Exception)]
        names = ", ".join(f"{o.job.op} s3://{o.bucket}/{o.key}" for o in self.failures[:10])
        more = f" and {self.failed - 10} more" if self.failed > 10 else ""  # noqa: PLR2004
        raise BatchError(f"{self.failed} of {self.submitted} jobs failed: {names}{more}", errors)
