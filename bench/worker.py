"""One timed benchmark run, in a process of its own: ``worker.py JOB.json RESULT.json``.

The result carries this process's peak RSS (VmHWM from /proc). Only the transfer
itself is timed: imports and client construction come before the clock starts, so the
figures compare data paths, not start-up cost.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
REGION = "us-east-1"


class Client:
    """What every client implements; sizes returned are bytes moved (as the caller sees them)."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.bucket: str = job["bucket"]
        self.endpoint: str = job.get("endpoint", "")

    def put_file(self, key: str, path: str, compress: str | None) -> int:
        raise NotImplementedError

    def get_file(self, key: str, path: str) -> int:
        raise NotImplementedError

    def put_many(self, keys: list[str], data: bytes, width: int) -> int:
        raise NotImplementedError

    def get_many(self, keys: list[str], width: int) -> int:
        raise NotImplementedError


class S3po(Client):
    """s3po with its default backend and TransferConfig (or a tuned config)."""

    tuned = False
    #: None: the backend Connection() picks when none is named (the default path).
    backend: str | None = None

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(job)
        import s3po  # noqa: PLC0415

        config = s3po.TransferConfig()
        if self.tuned:
            config = config.evolve(
                part_size=job["tuned_part_size"], max_concurrency=job["tuned_workers"]
            )
        named = {"backend": self.backend} if self.backend is not None else {}
        self.conn = s3po.Connection(
            **named,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=job["access_key"],
            aws_secret_access_key=job["secret_key"],
            config=config,
        )

    def put_file(self, key: str, path: str, compress: str | None) -> int:
        return self.conn.upload_file(self.bucket, key, path, compress=compress).size  # type: ignore[union-attr]

    def get_file(self, key: str, path: str) -> int:
        return self.conn.download_file(self.bucket, key, path).size  # type: ignore[union-attr]

    def put_many(self, keys: list[str], data: bytes, width: int) -> int:
        with self.conn.batch(width) as batch:
            handles = [batch.upload_string(self.bucket, key, data) for key in keys]
        return sum(h.result().size for h in handles)  # type: ignore[union-attr]

    def get_many(self, keys: list[str], width: int) -> int:
        # Count in a callback and drop the handles, so the bodies are not all kept alive
        # (the other clients keep only lengths too; s3fs's cat() alone returns them all).
        sizes: list[int] = []
        with self.conn.batch(width) as batch:
            for key in keys:
                batch.download_bytes(self.bucket, key, callback=lambda b: sizes.append(len(b)))
        return sum(sizes)


class S3poTuned(S3po):
    """s3po with larger parts and a set number of parts in flight."""

    tuned = True


class S3poBoto3(S3po):
    """s3po with the boto3-only ``s3`` backend (the default before 0.2.0)."""

    backend = "s3"


class S3poObstore(S3po):
    """s3po with the obstore backend: Rust requests for GET/PUT/DELETE, boto3 for the rest."""

    backend = "obstore"


class S3poLocal(S3po):
    """s3po over the local-folder backend: the middleware stack's own cost."""

    def __init__(self, job: dict[str, Any]) -> None:
        Client.__init__(self, job)
        import s3po  # noqa: PLC0415

        self.conn = s3po.Connection(backend="local", root=job["root"])


class S3poLocalLean(S3po):
    """The same pipeline with the S3 emulation's costs off: the middleware's own overhead.

    Opaque ETags (no MD5), no fsync, no content checksum, and whole-object puts (a
    threshold above the file size), so the backend's work is one copy, as copyfile's is.
    """

    def __init__(self, job: dict[str, Any]) -> None:
        Client.__init__(self, job)
        import s3po  # noqa: PLC0415

        config = s3po.TransferConfig(checksum=False).evolve(threshold=1 << 40)
        self.conn = s3po.Connection(
            backend="local", root=job["root"], etag="opaque", fsync=False, config=config
        )


class CopyFile(Client):
    """shutil.copyfile into the same folder layout: the floor for S3poLocal."""

    def put_file(self, key: str, path: str, compress: str | None) -> int:  # noqa: ARG002
        target = Path(self.job["root"], self.bucket, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        return target.stat().st_size

    def get_file(self, key: str, path: str) -> int:
        shutil.copyfile(Path(self.job["root"], self.bucket, key), path)
        return Path(path).stat().st_size


class CopyFileFsync(CopyFile):
    """copyfile, then fsync: the same durability the local backend gives by default."""

    def put_file(self, key: str, path: str, compress: str | None) -> int:
        size = super().put_file(key, path, compress)
        _fsync(Path(self.job["root"], self.bucket, key))
        return size

    def get_file(self, key: str, path: str) -> int:
        size = super().get_file(key, path)
        _fsync(Path(path))
        return size


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Boto3(Client):
    """boto3 / s3transfer with the default TransferConfig (or a tuned one)."""

    tuned = False

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(job)
        import boto3  # noqa: PLC0415
        from boto3.s3.transfer import TransferConfig  # noqa: PLC0415
        from botocore.config import Config  # noqa: PLC0415

        # One client shared by 32 threads needs a pool of 32, or urllib3 keeps reconnecting.
        pool = max(10, job.get("width", 0))
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=job["access_key"],
            aws_secret_access_key=job["secret_key"],
            config=Config(s3={"addressing_style": "path"}, max_pool_connections=pool),
        )
        self.config = TransferConfig()
        if self.tuned:
            self.config = TransferConfig(
                max_concurrency=job["tuned_workers"], multipart_chunksize=job["tuned_part_size"]
            )

    def put_file(self, key: str, path: str, compress: str | None) -> int:  # noqa: ARG002
        self.client.upload_file(path, self.bucket, key, Config=self.config)
        return Path(path).stat().st_size

    def get_file(self, key: str, path: str) -> int:
        self.client.download_file(self.bucket, key, path, Config=self.config)
        return Path(path).stat().st_size

    def put_many(self, keys: list[str], data: bytes, width: int) -> int:
        def one(key: str) -> int:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
            return len(data)

        with cf.ThreadPoolExecutor(width) as pool:
            return sum(pool.map(one, keys))

    def get_many(self, keys: list[str], width: int) -> int:
        def one(key: str) -> int:
            return len(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

        with cf.ThreadPoolExecutor(width) as pool:
            return sum(pool.map(one, keys))


class Boto3Tuned(Boto3):
    """boto3 with max_concurrency and multipart_chunksize set."""

    tuned = True


class Crt(Client):
    """s3transfer's CRTTransferManager over an awscrt S3Client, pointed at the endpoint.

    boto3 builds this manager only for AWS endpoints (boto3/crt.py passes
    ``endpoint_url=None``), so it is put together here as boto3 does, with the endpoint
    given to the request serializer (path style): awscrt connects to the Host header's
    host and port. s3transfer's default TransferConfig, so the CRT picks part size and
    connection count itself (its throughput target: 10 Gb/s when it does not know the
    NIC). Batches keep ``width`` requests in flight (the manager alone would allow 128).
    """

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(job)
        import botocore.session  # noqa: PLC0415
        from awscrt.auth import AwsCredentialsProvider  # noqa: PLC0415
        from botocore.config import Config  # noqa: PLC0415
        from s3transfer.crt import (  # noqa: PLC0415
            BotocoreCRTRequestSerializer,
            CRTTransferManager,
            create_s3_crt_client,
        )
        from s3transfer.manager import TransferConfig  # noqa: PLC0415

        credentials = AwsCredentialsProvider.new_static(job["access_key"], job["secret_key"])
        crt_client = create_s3_crt_client(
            REGION, crt_credentials_provider=credentials, use_ssl=False
        )
        serializer = BotocoreCRTRequestSerializer(
            botocore.session.Session(),
            {
                "region_name": REGION,
                "endpoint_url": self.endpoint,
                "config": Config(s3={"addressing_style": "path"}),
            },
        )
        self.manager = CRTTransferManager(crt_client, serializer, config=TransferConfig())

    def put_file(self, key: str, path: str, compress: str | None) -> int:  # noqa: ARG002
        self.manager.upload(path, self.bucket, key).result()
        return Path(path).stat().st_size

    def get_file(self, key: str, path: str) -> int:
        import threading  # noqa: PLC0415

        from s3transfer.subscribers import BaseSubscriber  # noqa: PLC0415

        renamed = threading.Event()

        class Renamed(BaseSubscriber):  # type: ignore[misc]
            def on_done(self, future: Any, **kwargs: Any) -> None:  # noqa: ANN401, ARG002
                renamed.set()

        # The future is done when the body is in the temporary file; the rename to ``path``
        # runs in a done callback after that, and subscribers' on_done after the rename.
        self.manager.download(self.bucket, key, path, subscribers=[Renamed()]).result()
        renamed.wait()
        return Path(path).stat().st_size

    def _window(self, submit: Any, keys: list[str], width: int) -> None:  # noqa: ANN401
        """Run ``submit(key, subscriber)`` for every key, at most ``width`` unfinished."""
        import threading  # noqa: PLC0415

        from s3transfer.subscribers import BaseSubscriber  # noqa: PLC0415

        gate = threading.BoundedSemaphore(width)

        class Release(BaseSubscriber):  # type: ignore[misc]
            def on_done(self, future: Any, **kwargs: Any) -> None:  # noqa: ANN401, ARG002
                gate.release()

        futures = []
        for key in keys:
            gate.acquire()
            futures.append(submit(key, [Release()]))
        for future in futures:
            future.result()

    def put_many(self, keys: list[str], data: bytes, width: int) -> int:
        import io  # noqa: PLC0415

        def submit(key: str, subscribers: list[Any]) -> Any:  # noqa: ANN401
            return self.manager.upload(io.BytesIO(data), self.bucket, key, subscribers=subscribers)

        self._window(submit, keys, width)
        return len(data) * len(keys)

    def get_many(self, keys: list[str], width: int) -> int:
        sinks: list[_Length] = []

        def submit(key: str, subscribers: list[Any]) -> Any:  # noqa: ANN401
            sinks.append(_Length())
            return self.manager.download(self.bucket, key, sinks[-1], subscribers=subscribers)

        self._window(submit, keys, width)
        return sum(s.size for s in sinks)


class _Length:
    """A download target that keeps only how many bytes were written (as the others do)."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        return len(chunk)


class S3fs(Client):
    """s3fs (aiobotocore) with its defaults; batches through its async pipe/cat."""

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(job)
        import s3fs  # noqa: PLC0415

        self.fs = s3fs.S3FileSystem(
            key=job["access_key"],
            secret=job["secret_key"],
            endpoint_url=self.endpoint,
            client_kwargs={"region_name": REGION},
            config_kwargs={"s3": {"addressing_style": "path"}},
            skip_instance_cache=True,
            use_listings_cache=False,
        )

    def put_file(self, key: str, path: str, compress: str | None) -> int:  # noqa: ARG002
        self.fs.put_file(path, f"{self.bucket}/{key}")
        return Path(path).stat().st_size

    def get_file(self, key: str, path: str) -> int:
        self.fs.get_file(f"{self.bucket}/{key}", path)
        return Path(path).stat().st_size

    def put_many(self, keys: list[str], data: bytes, width: int) -> int:
        self.fs.pipe({f"{self.bucket}/{k}": data for k in keys}, batch_size=width)
        return len(data) * len(keys)

    def get_many(self, keys: list[str], width: int) -> int:
        out = self.fs.cat([f"{self.bucket}/{k}" for k in keys], batch_size=width)
        return sum(len(v) for v in out.values())


class Obstore(Client):
    """obstore's S3Store (Rust object_store) with its defaults; batches with asyncio."""

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(job)
        from obstore.store import S3Store  # noqa: PLC0415

        self.store = S3Store(
            self.bucket,
            endpoint=self.endpoint,
            access_key_id=job["access_key"],
            secret_access_key=job["secret_key"],
            region=REGION,
            virtual_hosted_style_request=False,
            client_options={"allow_http": True},
        )

    def put_file(self, key: str, path: str, compress: str | None) -> int:  # noqa: ARG002
        import obstore  # noqa: PLC0415

        obstore.put(self.store, key, Path(path))
        return Path(path).stat().st_size

    def get_file(self, key: str, path: str) -> int:
        import obstore  # noqa: PLC0415

        size = 0
        with Path(path).open("wb") as out:
            for chunk in obstore.get(self.store, key).stream():
                size += out.write(chunk)
        return size

    def put_many(self, keys: list[str], data: bytes, width: int) -> int:
        import obstore  # noqa: PLC0415

        async def run() -> int:
            gate = asyncio.Semaphore(width)

            async def one(key: str) -> int:
                async with gate:
                    await obstore.put_async(self.store, key, data)
                return len(data)

            return sum(await asyncio.gather(*(one(k) for k in keys)))

        return asyncio.run(run())

    def get_many(self, keys: list[str], width: int) -> int:
        import obstore  # noqa: PLC0415

        async def run() -> int:
            gate = asyncio.Semaphore(width)

            async def one(key: str) -> int:
                async with gate:
                    result = await obstore.get_async(self.store, key)
                    return len(await result.bytes_async())

            return sum(await asyncio.gather(*(one(k) for k in keys)))

        return asyncio.run(run())


CLIENTS: dict[str, type[Client]] = {
    "s3po": S3po,
    "s3po-tuned": S3poTuned,
    "s3po-obstore": S3poObstore,
    "s3po-boto3": S3poBoto3,
    "boto3": Boto3,
    "boto3-tuned": Boto3Tuned,
    "crt": Crt,
    "s3fs": S3fs,
    "obstore": Obstore,
    "s3po-local": S3poLocal,
    "s3po-local-lean": S3poLocalLean,
    "copyfile": CopyFile,
    "copyfile-fsync": CopyFileFsync,
}


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Build the client, then time the one operation the job names."""
    client = CLIENTS[job["client"]](job)
    op = job["op"]
    keys = [f"{job['key']}/{i:05d}" for i in range(job.get("count", 0))]
    data = os.urandom(job.get("size", 0)) if op == "put_many" else b""
    started = time.perf_counter()
    if op == "put_file":
        moved = client.put_file(job["key"], job["path"], job.get("compress"))
    elif op == "get_file":
        moved = client.get_file(job["key"], job["path"])
    elif op == "put_many":
        moved = client.put_many(keys, data, job["width"])
    elif op == "get_many":
        moved = client.get_many(keys, job["width"])
    else:
        msg = f"unknown op {op!r}"
        raise ValueError(msg)
    seconds = time.perf_counter() - started
    expected = job.get("expect_bytes")
    if expected is not None and moved != expected:
        msg = f"moved {moved} bytes, expected {expected}"
        raise RuntimeError(msg)
    return {"seconds": seconds, "bytes": moved, "objects": max(1, len(keys))}


def peak_rss_mb() -> float:
    """This process's own high-water RSS (VmHWM; ru_maxrss would include the parent's at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    """Read the job, run it, write the result (or the error) as JSON."""
    job = json.loads(Path(sys.argv[1]).read_text())
    try:
        result = {"ok": True, **run(job)}
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which prints it
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
    result["rss_mb"] = round(peak_rss_mb(), 1)
    Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
