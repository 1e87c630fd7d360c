"""What the benchmark measures: workloads, their sizes, and the data they move."""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

KIB = 1024
MIB = 1024 * 1024

#: Clients measured against an S3 server, in the order they alternate. ``crt`` is
#: s3transfer's CRTTransferManager over awscrt; ``s5cmd`` is the Go binary, run as its own
#: process (bench/tools.py), so its figures include its start-up (a few ms).
S3_CLIENTS = ("s3po", "s3po-tuned", "s3po-boto3", "boto3", "boto3-tuned", "crt", "s3fs")
S3_CLIENTS += ("obstore", "s5cmd")
CLI_CLIENTS = ("s3po-cli", "aws-cli", "s5cmd")
#: One small file: ``python`` is the interpreter starting and exiting, the floor under any
#: Python CLI.
CLI_ONE_CLIENTS = (*CLI_CLIENTS, "python")
LOCAL_CLIENTS = ("s3po-local", "s3po-local-lean", "copyfile", "copyfile-fsync")
#: Import + client construction in a fresh interpreter (bench/startup.py).
STARTUP_CLIENTS = ("s3po", "s3po-boto3", "boto3", "crt", "obstore")

#: s3po-tuned and boto3-tuned both use these.
TUNED_PART_SIZE = 16 * MIB
TUNED_WORKERS = 8

#: Concurrent requests in the many-object workloads.
WIDTH = 32


@dataclass(frozen=True)
class Workload:
    """One thing to move, up (put) then down (get).

    kind is ``file`` (one object from/to a file), ``many`` (count objects from memory,
    WIDTH at once), ``cli`` (a folder of count files through each CLI, or with count 1 one
    file, not recursive), ``startup`` (import + client construction, no transfer) or
    ``local`` (s3po's local backend against shutil.copyfile, no server).

    unit is a rate (``MB/s``, ``obj/s``, ``files/s``: higher is better) or ``ms`` (wall
    time per run: lower is better).
    """

    name: str
    kind: str
    size: int
    count: int = 1
    source: str = "random"
    compress: str | None = None
    unit: str = "MB/s"
    baseline: str = "boto3"
    about: str = ""

    @property
    def clients(self) -> tuple[str, ...]:
        """Which clients this workload runs."""
        if self.kind == "cli":
            return CLI_ONE_CLIENTS if self.count == 1 else CLI_CLIENTS
        return {"local": LOCAL_CLIENTS, "startup": STARTUP_CLIENTS}.get(self.kind, S3_CLIENTS)

    @property
    def phases(self) -> tuple[str, ...]:
        """The phases measured, in order (``get`` reads what ``put`` stored)."""
        return ("init",) if self.kind == "startup" else ("put", "get")

    @property
    def needs_server(self) -> bool:
        """Whether this workload talks to an S3 server (start-up builds clients for one)."""
        return self.kind != "local"

    def value(self, run: dict[str, float]) -> float:
        """One run's figure in this workload's unit."""
        if self.unit == "ms":
            return 1000 * run["seconds"]
        if self.unit in ("obj/s", "files/s"):
            return run["objects"] / run["seconds"]
        return run["bytes"] / 1e6 / run["seconds"]


def workloads(*, quick: bool) -> list[Workload]:
    """The workloads, full-size or ``quick`` (small enough for a run under a minute)."""
    big = 16 * MIB if quick else 256 * MIB
    small_count = 200 if quick else 2000
    medium_count = 16 if quick else 200
    return [
        Workload("large", "file", big, about=f"one {_size(big)} incompressible object"),
        Workload(
            "jsonl-gzip",
            "file",
            big,
            source="jsonl",
            compress="gzip",
            about=f"{_size(big)} of JSON lines; s3po compresses with gzip, others send raw",
        ),
        Workload(
            "jsonl-zstd",
            "file",
            big,
            source="jsonl",
            compress="zstd",
            about=f"{_size(big)} of JSON lines; s3po compresses with zstd, others send raw",
        ),
        Workload(
            "small",
            "many",
            4 * KIB,
            small_count,
            unit="obj/s",
            about=f"{small_count} objects of 4 KiB, {WIDTH} at once",
        ),
        Workload(
            "medium",
            "many",
            MIB,
            medium_count,
            about=f"{medium_count} objects of 1 MiB, {WIDTH} at once",
        ),
        Workload(
            "cli",
            "cli",
            MIB,
            medium_count,
            baseline="aws-cli",
            about=f"a folder of {medium_count} files of 1 MiB, recursive copy, wall time",
        ),
        Workload(
            "cli-small",
            "cli",
            4 * KIB,
            small_count,
            unit="files/s",
            baseline="s5cmd",
            about=f"a folder of {small_count} files of 4 KiB, recursive copy, wall time",
        ),
        Workload(
            "cli-one",
            "cli",
            4 * KIB,
            1,
            unit="ms",
            baseline="s5cmd",
            about="one 4 KiB file, wall time of the whole command (start-up included)",
        ),
        Workload(
            "startup",
            "startup",
            0,
            unit="ms",
            baseline="boto3",
            about="import + Connection/client construction in a fresh interpreter",
        ),
        Workload(
            "local",
            "local",
            big,
            baseline="copyfile",
            about=f"{_size(big)} file through s3po's local backend vs shutil.copyfile",
        ),
    ]


def _size(n: int) -> str:
    return f"{n // MIB} MiB" if n >= MIB else f"{n // KIB} KiB"


# -- data -------------------------------------------------------------------------------

_WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
]
_LEVELS = ("DEBUG", "INFO", "INFO", "INFO", "WARNING", "ERROR")


def write_random(path: Path, size: int) -> Path:
    """Incompressible bytes."""
    with path.open("wb") as out:
        left = size
        while left:
            n = min(left, 16 * MIB)
            out.write(os.urandom(n))
            left -= n
    return path


def write_jsonl(path: Path, size: int, seed: int = 7) -> Path:
    """Log-like JSON lines (about 5-8x compressible with gzip), exactly ``size`` bytes."""
    rng = random.Random(seed)  # noqa: S311 - repeatable test data, not secrets
    written = 0
    with path.open("wb") as out:
        i = 0
        while written < size:
            lines = []
            for _ in range(2000):
                record = {
                    "id": i,
                    "ts": 1_700_000_000 + i * 7 + rng.randrange(5),
                    "level": rng.choice(_LEVELS),
                    "user": f"user-{rng.randrange(5000):04d}",
                    "path": "/" + "/".join(rng.choices(_WORDS, k=3)),
                    "latency_ms": round(rng.expovariate(1 / 40), 2),
                    "msg": " ".join(rng.choices(_WORDS, k=rng.randrange(4, 12))),
                }
                lines.append(json.dumps(record, separators=(",", ":")))
                i += 1
            block = ("\n".join(lines) + "\n").encode()
            block = block[: size - written]
            out.write(block)
            written += len(block)
    return path


def write_folder(path: Path, count: int, size: int) -> Path:
    """``count`` files of ``size`` random bytes."""
    path.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (path / f"f{i:05d}.bin").write_bytes(os.urandom(size))
    return path
