"""Where a py-spy profile's time goes: ``topframes.py PROFILE [--top 25] [--threads]``.

Reads what ``py-spy record`` writes with ``--format raw`` (collapsed stacks, one
``frame;frame;... count`` a line; bench/hotspots.py keeps them in bench/results/) or
``--format speedscope`` (JSON), and prints three tables, each as a share of all samples:
functions by self time (the frame on top of the stack), functions by inclusive time
(anywhere on the stack), and packages by self time (``s3po``, ``botocore``, ``ssl``,
``threading``, ...), which is the shortest answer to "where does the time go".
``--transfer-only`` drops a bench/worker.py run's imports and client set-up.

Threads py-spy counts as active can still be waiting: ``_worker (concurrent/futures)``
on top is a pool thread waiting for work, ``do_poll (urllib3/util/wait.py)`` and
``SocketIO.readinto`` are waits for the server. ``--gil`` profiles (bench/hotspots.py)
count only the thread holding the GIL, which is the Python CPU time.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
_THREAD = re.compile(r"^(process|thread) ")


def short(frame: str) -> str:
    """``func (path/to/file.py:12)`` as ``func (package/file.py)``."""
    match = _FRAME.match(frame)
    if match is None:
        return frame
    parts = Path(match["file"]).parts
    where = "/".join(parts[-2:]) if parts else match["file"]
    return f"{match['func']} ({where})"


def package(frame: str) -> str:
    """The top-level package of a frame's file: ``botocore``, ``s3po``, ``socket``, ...

    py-spy names files relative to the ``sys.path`` entry they were found under, so the
    first part of the path is the package (or the standard-library module).
    """
    match = _FRAME.match(frame)
    if match is None:
        return frame
    where = match["file"]
    if where.startswith("<frozen"):
        return where.strip("<>").removeprefix("frozen ").split(".")[0]
    parts = Path(where).parts
    if not parts:
        return where
    # speedscope output keeps more of the path: skip to what follows the last
    # site-packages or python3.X folder.
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] in ("site-packages", "dist-packages") or re.fullmatch(
            r"python3\.\d+", parts[i]
        ):
            return parts[i + 1].removesuffix(".py")
    if parts[0] == "/":  # not under sys.path: name it by its folder
        return parts[-2] if len(parts) > 2 else where
    return parts[0].removesuffix(".py")


def read(profile: Path) -> list[tuple[list[str], int]]:
    """(stack from the root, sample count) pairs of a raw or speedscope profile."""
    text = profile.read_text()
    if text.lstrip().startswith("{"):
        return _speedscope(json.loads(text))
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def _speedscope(data: dict) -> list[tuple[list[str], int]]:  # type: ignore[type-arg]
    """Speedscope's sampled profiles (one per thread); py-spy weighs samples in seconds."""
    frames = [
        f"{f['name']} ({f.get('file', '?')}:{f.get('line', 0)})" for f in data["shared"]["frames"]
    ]
    sampled = [p for p in data["profiles"] if p.get("type") == "sampled"]
    weights = [w for p in sampled for w in p["weights"] if w > 0]
    interval = min(weights, default=1)  # one sample's weight: counts, as in the raw format
    stacks = []
    for prof in sampled:
        for sample, weight in zip(prof["samples"], prof["weights"], strict=True):
            stacks.append(([frames[i] for i in sample], round(weight / interval)))
    return stacks


_WORKER_MAIN = re.compile(r"^<module> \((?:.*/)?worker\.py")
_WORKER_RUN = re.compile(r"^run \((?:.*/)?worker\.py")
_WORKER_SETUP = re.compile(r"\.__init__ \((?:.*/)?worker\.py")


def transfer_only(stack: list[str]) -> bool:
    """Whether a bench/worker.py stack is part of the timed transfer, not set-up.

    Set-up is what worker.py's main thread does outside ``run`` (the imports at the top,
    writing the result) and the client's construction (a ``__init__`` in worker.py).
    Every other thread (pool threads, and native threads calling back into Python, as
    awscrt's do) is the transfer.
    """
    if not stack or not _WORKER_MAIN.match(stack[0]):
        return True
    return any(_WORKER_RUN.match(f) for f in stack) and not any(
        _WORKER_SETUP.search(f) for f in stack
    )


def summarize(
    stacks: list[tuple[list[str], int]],
    top: int = 25,
    *,
    threads: bool = False,
    keep: Callable[[list[str]], bool] | None = None,
) -> str:
    """The three tables; ``threads`` keeps py-spy's per-thread root frames in the stacks.

    ``keep`` chooses the stacks counted (all of them by default).
    """
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    packages: collections.Counter[str] = collections.Counter()
    total = 0
    for raw, n in stacks:
        stack = raw if threads else [f for f in raw if not _THREAD.match(f)]
        if not stack or (keep is not None and not keep(stack)):
            continue
        total += n
        frames = [short(f) for f in stack]
        own[frames[-1]] += n
        packages[package(stack[-1])] += n
        for f in set(frames):
            inclusive[f] += n
    if not total:
        return "no samples (the run was too short, or py-spy could not attach)"
    lines = [f"{total} samples", "", "self %   function"]
    lines += [f"{100 * n / total:6.1f}   {f}" for f, n in own.most_common(top)]
    lines += ["", "incl %   function"]
    lines += [f"{100 * n / total:6.1f}   {f}" for f, n in inclusive.most_common(top)]
    lines += ["", "self %   package"]
    lines += [f"{100 * n / total:6.1f}   {p}" for p, n in packages.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    """Print the tables of one profile."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profile", type=Path, help="py-spy --format raw or speedscope output")
    parser.add_argument("--top", type=int, default=25, help="rows per table")
    parser.add_argument(
        "--threads", action="store_true", help="keep per-thread root frames (py-spy --threads)"
    )
    parser.add_argument(
        "--transfer-only",
        action="store_true",
        help="of a bench/worker.py run, only the timed transfer (no imports or set-up)",
    )
    args = parser.parse_args()
    keep = transfer_only if args.transfer_only else None
    print(summarize(read(args.profile), args.top, threads=args.threads, keep=keep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
