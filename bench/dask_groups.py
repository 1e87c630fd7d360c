"""Small uploads through a dask cluster in groups, against the same batch in-process.

``.venv/bin/python bench/dask_groups.py [--count 20000] [--workers 2] [--runs 3]``

Uploads ``count`` objects of ``size`` bytes to a local store (``fsync=False``) with
``batch.run(jobs)``: in this process on a thread pool of ``--threads`` transfers, and
through a ``distributed.LocalCluster`` of ``--workers`` worker processes, where jobs travel
in groups of ``--group-size`` and each task runs its group through the worker's own batch
of ``--threads`` transfers. The two alternate, ``--runs`` times, and the median objects/s
of each is printed with their ratio (the target: a 2-worker cluster at 0.8x or more of
in-process). ``--per-object N`` also times the seed's way, ``batch.upload_string`` per key on
``client.get_executor()`` (one dask task a key), over N objects. Figures are recorded in
docs/concurrency.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import distributed

import s3po


def _jobs(count: int, size: int, prefix: str) -> Iterator[s3po.Job]:
    payload = "x" * size
    for i in range(count):
        yield s3po.Job("upload_string", "bench", f"{prefix}/{i // 1000:03d}/{i:06d}", payload)


def _timed_run(batch: s3po.Batch, count: int, size: int, prefix: str) -> float:
    started = time.perf_counter()
    result = batch.run(_jobs(count, size, prefix))
    seconds = time.perf_counter() - started
    if result.failed:
        result.raise_for_errors()
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--group-size", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-object", type=int, default=0, metavar="N")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="s3po-dask-bench-"))
    local: list[float] = []
    cluster_rates: list[float] = []
    per_object = None
    try:
        conn = s3po.Connection(backend="local", root=root, fsync=False)
        conn.create_bucket("bench")
        with (
            distributed.LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",
                host="127.0.0.1",
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            executor = client.get_executor()
            for run in range(args.runs):
                with conn.batch(args.threads) as batch:
                    local.append(_timed_run(batch, args.count, args.size, f"l{run}"))
                with conn.batch(
                    args.threads, executor=executor, group_size=args.group_size
                ) as batch:
                    cluster_rates.append(_timed_run(batch, args.count, args.size, f"c{run}"))
                shutil.rmtree(root / "bench", ignore_errors=True)
                conn.create_bucket("bench")
            if args.per_object:
                started = time.perf_counter()
                with conn.batch(args.threads, executor=executor) as batch:
                    for i in range(args.per_object):
                        batch.upload_string("bench", f"p/{i:06d}", "x" * args.size)
                per_object = args.per_object / (time.perf_counter() - started)
        conn.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    in_process = statistics.median(local)
    on_cluster = statistics.median(cluster_rates)
    print(
        json.dumps(
            {
                "count": args.count,
                "size": args.size,
                "workers": args.workers,
                "threads": args.threads,
                "group_size": args.group_size,
                "in_process_objects_per_second": round(in_process),
                "cluster_objects_per_second": round(on_cluster),
                "ratio": round(on_cluster / in_process, 2),
                "runs_in_process": [round(r) for r in local],
                "runs_cluster": [round(r) for r in cluster_rates],
                "per_object_tasks_objects_per_second": None
                if per_object is None
                else round(per_object),
            }
        )
    )


if __name__ == "__main__":
    main()
