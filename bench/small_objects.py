"""Small-object throughput: s3po (obstore and s3 backends) against plain obstore and boto3.

``.venv/bin/python bench/small_objects.py [--count 2000] [--size 4096] [--width 32] [--runs 5]``

Starts SeaweedFS (``weed mini``, through tests/servers.py) unless ``--endpoint`` is given, puts
``count`` objects of ``size`` bytes ``width`` at once, then gets them back. Every timed run is
a fresh process; the clients alternate within each repetition (A B C D, then B C D A, ...) so
drifting machine load spreads over all of them, and the median of the runs is reported, with
the client CPU seconds per request (user + system of the worker process, during the timed
part only).

Run one client in this process, for a profiler::

    .venv/bin/py-spy record -o out.svg -- .venv/bin/python bench/small_objects.py \\
        --one s3po-obstore --op get --endpoint http://127.0.0.1:8333 --bucket B
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures as cf
import contextlib
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ("s3po-obstore", "s3po-s3", "obstore-async", "obstore-threads", "boto3-threads")
REGION = "us-east-1"


def _servers() -> Any:  # noqa: ANN401 - a module loaded by path
    name = "s3po_test_servers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "servers.py")
        assert spec is not None  # noqa: S101
        assert spec.loader is not None  # noqa: S101
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# -- the clients (each builds its client before the clock starts) ---------------------------


def _s3po(backend: str, a: argparse.Namespace) -> tuple[Callable[..., int], Callable[..., int]]:
    import s3po  # noqa: PLC0415

    conn = s3po.Connection(
        backend=backend,
        endpoint_url=a.endpoint,
        region_name=REGION,
        aws_access_key_id=a.access_key,
        aws_secret_access_key=a.secret_key,
    )

    def put(keys: list[str], data: bytes) -> int:
        with conn.batch(a.width) as batch:
            for key in keys:
                batch.upload_string(a.bucket, key, data)
        return len(keys) * len(data)

    def get(keys: list[str]) -> int:
        sizes: list[int] = []
        with conn.batch(a.width) as batch:
            for key in keys:
                batch.download_bytes(a.bucket, key, callback=lambda b: sizes.append(len(b)))
        return sum(sizes)

    return put, get


def _obstore_store(a: argparse.Namespace) -> Any:  # noqa: ANN401
    from obstore.store import S3Store  # noqa: PLC0415

    return S3Store(
        a.bucket,
        endpoint=a.endpoint,
        access_key_id=a.access_key,
        secret_access_key=a.secret_key,
        region=REGION,
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )


def _obstore_async(a: argparse.Namespace) -> tuple[Callable[..., int], Callable[..., int]]:
    import obstore  # noqa: PLC0415

    store = _obstore_store(a)

    def put(keys: list[str], data: bytes) -> int:
        async def run() -> int:
            gate = asyncio.Semaphore(a.width)

            async def one(key: str) -> int:
                async with gate:
                    await obstore.put_async(store, key, data, use_multipart=False)
                return len(data)

            return sum(await asyncio.gather(*(one(k) for k in keys)))

        return asyncio.run(run())

    def get(keys: list[str]) -> int:
        async def run() -> int:
            gate = asyncio.Semaphore(a.width)

            async def one(key: str) -> int:
                async with gate:
                    result = await obstore.get_async(store, key)
                    return len(await result.bytes_async())

            return sum(await asyncio.gather(*(one(k) for k in keys)))

        return asyncio.run(run())

    return put, get


def _threads(
    a: argparse.Namespace, put_one: Callable[[str, bytes], None], get_one: Callable[[str], int]
) -> tuple[Callable[..., int], Callable[..., int]]:
    def put(keys: list[str], data: bytes) -> int:
        with cf.ThreadPoolExecutor(a.width) as pool:
            list(pool.map(lambda k: put_one(k, data), keys))
        return len(keys) * len(data)

    def get(keys: list[str]) -> int:
        with cf.ThreadPoolExecutor(a.width) as pool:
            return sum(pool.map(get_one, keys))

    return put, get


def _obstore_threads(a: argparse.Namespace) -> tuple[Callable[..., int], Callable[..., int]]:
    import obstore  # noqa: PLC0415

    store = _obstore_store(a)
    return _threads(
        a,
        lambda k, d: obstore.put(store, k, d, use_multipart=False) and None,
        lambda k: len(obstore.get(store, k).bytes()),
    )


def _boto3_threads(a: argparse.Namespace) -> tuple[Callable[..., int], Callable[..., int]]:
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    client = boto3.client(
        "s3",
        endpoint_url=a.endpoint,
        region_name=REGION,
        aws_access_key_id=a.access_key,
        aws_secret_access_key=a.secret_key,
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=max(10, a.width)),
    )
    return _threads(
        a,
        lambda k, d: client.put_object(Bucket=a.bucket, Key=k, Body=d) and None,
        lambda k: len(client.get_object(Bucket=a.bucket, Key=k)["Body"].read()),
    )


MAKERS: dict[str, Callable[[argparse.Namespace], tuple[Callable[..., int], Callable[..., int]]]] = {
    "s3po-obstore": lambda a: _s3po("obstore", a),
    "s3po-s3": lambda a: _s3po("s3", a),
    "obstore-async": _obstore_async,
    "obstore-threads": _obstore_threads,
    "boto3-threads": _boto3_threads,
}


def run_one(a: argparse.Namespace) -> dict[str, Any]:
    """Time one client's put (to a fresh prefix) or get (of the shared objects)."""
    put, get = MAKERS[a.one](a)
    if a.op == "put":
        keys = [f"put-{uuid.uuid4().hex[:8]}/{i:05d}" for i in range(a.count)]
        data = os.urandom(a.size)
    else:
        keys = [f"shared/{i:05d}" for i in range(a.count)]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    moved = put(keys, data) if a.op == "put" else get(keys)
    seconds = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    if moved != a.count * a.size:
        msg = f"moved {moved} bytes, expected {a.count * a.size}"
        raise RuntimeError(msg)
    return {"seconds": seconds, "obj_s": a.count / seconds, "cpu_ms": 1000 * cpu / a.count}


# -- the driver --------------------------------------------------------------------------------


@contextlib.contextmanager
def _server(a: argparse.Namespace) -> Iterator[None]:
    servers = _servers()
    if a.endpoint:
        a.access_key = a.access_key or servers.ACCESS_KEY
        a.secret_key = a.secret_key or servers.SECRET_KEY
        yield
        return
    server = servers.start_seaweedfs()
    a.endpoint, a.access_key, a.secret_key = (
        server.endpoint_url,
        server.access_key,
        server.secret_key,
    )
    try:
        yield
    finally:
        server.stop()


def main() -> None:
    """Measure every client, alternating, and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--endpoint", default="")
    parser.add_argument("--access-key", default="")
    parser.add_argument("--secret-key", default="")
    parser.add_argument("--bucket", default="")
    parser.add_argument("--one", choices=CLIENTS, help="run one client in this process")
    parser.add_argument("--op", choices=("put", "get"), default="put")
    parser.add_argument("--json", type=Path, help="also write every run here")
    a = parser.parse_args()
    if a.one:
        a.access_key = a.access_key or _servers().ACCESS_KEY
        a.secret_key = a.secret_key or _servers().SECRET_KEY
        print(json.dumps(run_one(a)))
        return
    clients = a.clients.split(",")
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with _server(a):
        servers = _servers()
        admin = servers.S3Server("bench", a.endpoint, a.access_key, a.secret_key).client()
        a.bucket = a.bucket or servers.unique_bucket("s3po-bench")
        admin.create_bucket(Bucket=a.bucket)
        data = os.urandom(a.size)
        with cf.ThreadPoolExecutor(32) as pool:
            list(
                pool.map(
                    lambda i: admin.put_object(Bucket=a.bucket, Key=f"shared/{i:05d}", Body=data),
                    range(a.count),
                )
            )
        for rep in range(a.runs):
            order = clients[rep % len(clients) :] + clients[: rep % len(clients)]
            for op in ("put", "get"):
                for client in order:
                    args = [f"--count={a.count}", f"--size={a.size}", f"--width={a.width}"]
                    args += [f"--endpoint={a.endpoint}", f"--bucket={a.bucket}"]
                    args += [f"--access-key={a.access_key}", f"--secret-key={a.secret_key}"]
                    out = subprocess.run(
                        [sys.executable, __file__, "--one", client, "--op", op, *args],
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    if out.returncode:
                        sys.exit(f"{client} {op} failed:\n{out.stderr[-3000:]}")
                    run = json.loads(out.stdout.strip().splitlines()[-1])
                    results.setdefault((client, op), []).append(run)
                    print(f"rep {rep + 1} {op:3} {client:16} {run['obj_s']:8.0f} obj/s "
                          f"{run['cpu_ms']:.2f} ms CPU/obj", flush=True)  # fmt: skip
    print(f"\n{a.count} x {a.size} B, {a.width} at once, median of {a.runs} runs\n")
    print(
        f"{'client':16} {'PUT obj/s':>10} {'GET obj/s':>10} {'PUT CPU ms':>11} {'GET CPU ms':>11}"
    )
    for client in clients:
        row = [statistics.median(r["obj_s"] for r in results[client, op]) for op in ("put", "get")]
        cpu = [statistics.median(r["cpu_ms"] for r in results[client, op]) for op in ("put", "get")]
        print(f"{client:16} {row[0]:10.0f} {row[1]:10.0f} {cpu[0]:11.2f} {cpu[1]:11.2f}")
    if a.json:
        a.json.write_text(json.dumps({f"{c}/{o}": r for (c, o), r in results.items()}, indent=1))


if __name__ == "__main__":
    main()
