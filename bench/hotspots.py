"""Profile one client on one workload with py-spy (every thread): where does the time go?

    .venv/bin/python bench/hotspots.py small put                 # s3po on SeaweedFS
    .venv/bin/python bench/hotspots.py large get --client boto3 --quick
    .venv/bin/python bench/hotspots.py small put --gil           # only samples holding the GIL

The measured run is a bench/worker.py process recorded by ``py-spy record``; a ``get`` first
puts the object(s), unrecorded. Samples of threads that are idle (waiting on a socket, a
lock or a queue) are left out unless ``--idle``, so the tables show where CPU goes. Prints
the functions with the most samples, by self time and by inclusive time, and keeps the
collapsed stacks (flamegraph input) in bench/results/profile-*.txt.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run
import servers
import worker
from workloads import workloads

HERE = Path(__file__).resolve().parent
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _short(frame: str) -> str:
    """``func (path/to/file.py:12)`` as ``func (package/file.py)``."""
    match = _FRAME.match(frame)
    if match is None:
        return frame
    parts = Path(match["file"]).parts
    where = "/".join(parts[-2:]) if parts else match["file"]
    return f"{match['func']} ({where})"


def summarize(collapsed: Path, top: int) -> str:
    """Tables of the functions with the most self and inclusive samples."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";")]
        own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    if not total:
        return "no samples (the run was too short, or py-spy could not attach)"
    lines = [f"{total} samples (all threads)", "", "self %   function"]
    lines += [f"{100 * n / total:6.1f}   {f}" for f, n in own.most_common(top)]
    lines += ["", "incl %   function"]
    lines += [f"{100 * n / total:6.1f}   {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    """Record the chosen run under py-spy and print where its samples fall."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload")
    parser.add_argument("phase", choices=("put", "get"))
    parser.add_argument("--client", default="s3po")
    parser.add_argument("--server", choices=("weed", "moto"), default="weed")
    parser.add_argument("--quick", action="store_true", help="the quick sizes")
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL")
    parser.add_argument("--idle", action="store_true", help="include idle threads")
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    chosen = {w.name: w for w in workloads(quick=args.quick)}[args.workload]
    spy = Path(sys.executable).with_name("py-spy")
    name = f"profile-{args.client}-{args.workload}-{args.phase}{'-gil' if args.gil else ''}"
    collapsed = HERE / "results" / f"{name}.txt"
    collapsed.parent.mkdir(exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="s3po-profile-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        bench = run.Bench(run.parse_args(["--reps", "1"]), Path(tmp))
        server = stack.enter_context(servers.start(args.server)) if chosen.needs_server else None
        if args.phase == "get":
            worker.run(bench.job(args.client, "put", server, chosen))
        job_file, result_file = Path(tmp, "job.json"), Path(tmp, "result.json")
        job_file.write_text(json.dumps(bench.job(args.client, args.phase, server, chosen)))
        cmd = [str(spy), "record", "--format", "raw", "-o", str(collapsed), "-r", str(args.rate)]
        cmd += ["--gil"] if args.gil else []
        cmd += ["--idle"] if args.idle else []
        cmd += ["--", sys.executable, str(HERE / "worker.py"), str(job_file), str(result_file)]
        subprocess.run(cmd, check=True, capture_output=True)
        result = json.loads(result_file.read_text())
    print(summarize(collapsed, args.top))
    print(f"\nrun: {result}\ncollapsed stacks: {collapsed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
