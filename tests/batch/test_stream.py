"""Streams of jobs: outcomes as they finish, counters, failures kept, bounded memory, groups."""

from __future__ import annotations

import concurrent.futures as cf
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import s3po
from s3po.client.stream import run_group


def _uploads(n: int, prefix: str = "s") -> Iterator[s3po.Job]:
    for i in range(n):
        yield s3po.Job("upload_string", "bucket", f"{prefix}/{i:04d}", f"v{i}", tag=i)


def test_stream_yields_one_outcome_per_job_with_its_result(conn: s3po.Connection) -> None:
    with conn.batch(4) as batch:
        outcomes = list(batch.stream(_uploads(50)))
    assert sorted(o.index for o in outcomes) == list(range(50))
    assert all(o.ok for o in outcomes)
    assert {o.job.tag: o.value.key for o in outcomes} == {i: f"s/{i:04d}" for i in range(50)}
    assert sum(o.size for o in outcomes) == sum(len(f"v{i}") for i in range(50))
    assert conn.download_string("bucket", "s/0042") == "v42"


def test_failures_are_outcomes_and_the_block_does_not_raise_for_them(
    conn: s3po.Connection,
) -> None:
    conn.upload_string("bucket", "there", "here")
    jobs = [
        s3po.Job("download_string", "bucket", "there"),
        s3po.Job("download_string", "bucket", "missing"),
        s3po.Job("upload_string", "bucket", "", "an empty key is refused at the call"),
    ]
    with conn.batch(2) as batch:
        outcomes = {o.index: o for o in batch.stream(jobs)}
    assert outcomes[0].value == "here"
    assert isinstance(outcomes[1].error, s3po.NoSuchKey)
    assert outcomes[1].key == "missing"
    assert isinstance(outcomes[2].error, s3po.InvalidKey)
    assert batch.runner.failures() == []


def test_jobs_are_taken_only_as_outcomes_are_handed_back(conn: s3po.Connection) -> None:
    taken = 0

    def jobs() -> Iterator[s3po.Job]:
        nonlocal taken
        for job in _uploads(200):
            taken += 1
            yield job

    most_ahead = 0
    with conn.batch(2, max_pending=4) as batch:
        for seen, _ in enumerate(batch.stream(jobs()), start=1):
            most_ahead = max(most_ahead, taken - seen)
    assert taken == 200
    # never more than max_pending jobs drawn and not yet handed back
    assert most_ahead <= 4
    assert not batch.runner._pending
    assert not batch._kept


def test_run_keeps_counters_and_failures_only(conn: s3po.Connection) -> None:
    jobs = [*_uploads(30), s3po.Job("download_bytes", "bucket", "nope", tag="x")]
    progress: list[s3po.BatchProgress] = []
    with conn.batch(4, on_progress=progress.append) as batch:
        result = batch.run(jobs)
    assert (result.submitted, result.done, result.failed) == (31, 31, 1)
    assert result.bytes == sum(len(f"v{i}") for i in range(30))
    assert [o.job.tag for o in result.failures] == ["x"]
    assert result.failures[0].value is None
    assert progress[-1].done == 31
    assert progress[-1].failed == 1
    with pytest.raises(s3po.BatchError) as caught:
        result.raise_for_errors()
    assert caught.group_contains(s3po.NoSuchKey)
    assert "1 of 31 jobs failed: download_bytes s3://bucket/nope" in str(caught.value)


def test_copy_delete_and_head_run_as_jobs(conn: s3po.Connection) -> None:
    conn.upload_string("bucket", "a", "alpha")
    conn.upload_string("bucket", "gone", "soon")
    jobs = [
        s3po.Job("copy", "bucket", "a", "bucket", "b"),
        s3po.Job("delete", "bucket", "gone"),
        s3po.Job("head", "bucket", "a"),
    ]
    with conn.batch(3) as batch:
        outcomes = {o.job.op: o for o in batch.stream(jobs)}
    assert outcomes["copy"].key == "b"
    assert outcomes["head"].value.size == 5
    assert conn.download_string("bucket", "b") == "alpha"
    assert not conn.exists("bucket", "gone")


def test_stopping_early_cancels_what_has_not_started(conn: s3po.Connection) -> None:
    gate = threading.Event()

    def slow(_result: object) -> None:
        gate.wait(5)

    jobs = (s3po.Job("upload_string", "bucket", f"c/{i}", "x", callback=slow) for i in range(100))
    with conn.batch(1, max_pending=10) as batch:
        stream = batch.stream(jobs)
        gate.set()
        first = next(stream)
        stream.close()
    assert first.ok
    # the first and at most the few already running finished; the rest never ran
    assert len(conn.list_names("bucket", "c/")) < 10


def test_a_job_names_its_call_and_pickles() -> None:
    with pytest.raises(s3po.ConfigError, match="did you mean 'upload_string'"):
        s3po.Job("upload_strng", "b", "k", "x")
    job = s3po.Job("upload_string", "b", "k", "x", compress="gzip", tag=7)
    assert pickle.loads(pickle.dumps(job)) == job  # noqa: S301
    assert repr(job) == "<Job upload_string s3://b/k tag=7>"
    with pytest.raises(AttributeError):
        job.op = "delete"


def test_groups_run_through_the_workers_own_batch(tmp_path: Path) -> None:
    # group_size on a thread pool runs the grouping path without a cluster: every group
    # unpickles its own connection and batch, and failures come back by key.
    conn = s3po.Connection(backend="local", root=tmp_path / "store")
    jobs = [*_uploads(45, "g"), s3po.Job("download_string", "bucket", "g/none", tag="miss")]
    with cf.ThreadPoolExecutor(2) as pool, conn.batch(3, executor=pool, group_size=10) as b:
        outcomes = list(b.stream(jobs))
    assert sorted(o.index for o in outcomes) == list(range(46))
    failed = [o for o in outcomes if not o.ok]
    assert [(o.job.tag, type(o.error)) for o in failed] == [("miss", s3po.NoSuchKey)]
    assert all(o.value.key == o.job.key for o in outcomes if o.ok)
    assert len(conn.list_names("bucket", "g/")) == 45
    conn.close()


def test_a_group_sends_back_errors_that_travel(tmp_path: Path) -> None:
    class Odd(Exception):  # a local class: it cannot be pickled by reference
        pass

    def boom(_result: object) -> None:
        raise Odd

    conn = s3po.Connection(backend="local", root=tmp_path / "store")
    import cloudpickle  # type: ignore[import-untyped]  # noqa: PLC0415

    payload = cloudpickle.dumps(conn)
    jobs = [s3po.Job("upload_string", "bucket", "k", "x", callback=boom)]
    result = run_group(payload, jobs, 1, False)  # noqa: FBT003
    error = result.errors[0]
    assert isinstance(error, s3po.TransferError)
    assert "Odd" in str(error)
    assert pickle.loads(pickle.dumps(error)).key == "k"  # noqa: S301
    conn.close()


def test_groups_through_a_dask_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    conn = s3po.Connection(backend="local", root=tmp_path / "store")
    jobs = [
        *_uploads(200, "d"),
        *(s3po.Job("download_bytes", "bucket", f"absent/{i}", tag=f"m{i}") for i in range(3)),
    ]
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address="127.0.0.1:0"
        ) as cluster,
        distributed.Client(cluster) as client,
        conn.batch(4, executor=client.get_executor(), group_size=50) as batch,
    ):
        result = batch.run(jobs)
    assert (result.submitted, result.done, result.failed) == (203, 203, 3)
    assert sorted(o.job.tag for o in result.failures) == ["m0", "m1", "m2"]
    assert all(isinstance(o.error, s3po.NoSuchKey) for o in result.failures)
    assert len(conn.list_names("bucket", "d/")) == 200
    conn.close()
