"""Peak memory of a batch of many tiny uploads on the local backend (run on purpose).

``.venv/bin/python bench/million.py [--counts 100000,1000000] [--modes run,handles]``

Each measurement is a fresh process that uploads ``count`` objects of one byte to a local
store under a temporary folder (``fsync=False``: the point is the batch's memory, not the
disk), 1,000 keys a folder, then prints its peak RSS (``ru_maxrss``) and its RSS after
imports (``--every N`` also prints both on stderr every N objects, so a long run that is
stopped early still shows how memory went). Modes:

- ``run``: ``batch.run(jobs)`` over a generator of :class:`s3po.Job` (the streamed API).
- ``stream``: ``batch.stream(jobs)``, counting outcomes.
- ``handles``: ``batch.upload_string(...)`` in a loop, dropping each handle (the seed API).
- ``kept``: the same, keeping every handle in a list (what a caller that wants every
  result per key had to do before streams).

The store is deleted after each run. Figures are recorded in docs/concurrency.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MODES = ("run", "stream", "handles", "kept")


def _rss_mib() -> float:
    with Path("/proc/self/status").open() as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _key(i: int) -> str:
    return f"m/{i // 1000:04d}/{i:07d}"


def _checkpoints(every: int, base: float, started: float) -> Any:  # noqa: ANN401
    """An ``on_progress`` that prints the RSS every ``every`` objects (a run may be stopped)."""

    def report(progress: Any) -> None:  # noqa: ANN401
        if progress.done % every == 0:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            line = {
                "done": progress.done,
                "seconds": round(time.perf_counter() - started, 1),
                "rss_mib": round(_rss_mib(), 1),
                "peak_rss_mib": round(peak, 1),
                "rss_after_imports_mib": round(base, 1),
            }
            print(json.dumps(line), file=sys.stderr, flush=True)

    return report


def child(count: int, mode: str, workers: int, every: int) -> dict[str, Any]:
    import s3po  # noqa: PLC0415 - measured after start-up

    root = Path(tempfile.mkdtemp(prefix="s3po-million-"))
    try:
        with s3po.Connection(backend="local", root=root, fsync=False) as conn:
            conn.create_bucket("million")
            base = _rss_mib()
            started = time.perf_counter()
            failed = 0
            on_progress = _checkpoints(every, base, started) if every else None
            with conn.batch(workers, on_progress=on_progress) as batch:
                if mode in {"run", "stream"}:

                    def jobs() -> Iterator[s3po.Job]:
                        for i in range(count):
                            yield s3po.Job("upload_string", "million", _key(i), "x")

                    if mode == "run":
                        failed = batch.run(jobs()).failed
                    else:
                        failed = sum(not o.ok for o in batch.stream(jobs()))
                else:
                    kept = []
                    for i in range(count):
                        handle = batch.upload_string("million", _key(i), "x")
                        if mode == "kept":
                            kept.append(handle)
            seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "count": count,
        "mode": mode,
        "workers": workers,
        "seconds": round(seconds, 1),
        "objects_per_second": round(count / seconds),
        "rss_after_imports_mib": round(base, 1),
        "peak_rss_mib": round(peak, 1),
        "failed": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--counts", default="100000,1000000")
    parser.add_argument("--modes", default="run,handles")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--every", type=int, default=0, metavar="N", help="print the RSS every N objects"
    )
    parser.add_argument("--child", nargs=2, metavar=("COUNT", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1], args.workers, args.every)))
        return
    counts = [int(c) for c in args.counts.split(",")]
    modes = [m for m in args.modes.split(",") if m in MODES]
    for count in counts:
        for mode in modes:
            cmd = [sys.executable, __file__, "--workers", str(args.workers), "--every"]
            out = subprocess.run(
                [*cmd, str(args.every), "--child", str(count), mode],
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            )
            print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
