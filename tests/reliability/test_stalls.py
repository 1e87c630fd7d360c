"""No transfer hangs forever: trickling bodies, silent servers and the deadline.

Each test points a Connection at a tiny loopback HTTP server written here (no S3 behind it):
one that sends a GetObject's response headers and then the body a byte at a time, one that
accepts connections and never answers, and one that ends a body early without breaking the
HTTP framing. Limits are set small so each test takes seconds; every test also carries a
``pytest.mark.timeout`` safety net, since on the base code these calls hung.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from s3po_s3._client import ClientOptions

import s3po

BACKENDS = ["s3", "obstore"]
SIZE = 2 * 1024 * 1024  # above obstore's whole-body threshold, so both paths stream
ETAG = '"0123456789abcdef0123456789abcdef"'


class LoopbackServer:
    """A one-trick HTTP server on 127.0.0.1.

    ``mode`` is ``"trickle"`` (headers, then one byte every ``interval`` seconds),
    ``"silent"`` (accept, read the request, never answer) or ``"short"`` (half the body:
    cut off for a whole GET, well framed but short of its Content-Range for a ranged one).
    """

    def __init__(self, mode: str, *, interval: float = 0.2, size: int = SIZE) -> None:
        self.mode = mode
        self.size = size
        self.interval = interval
        self.requests = 0
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(0.5)
            request = b""
            while b"\r\n\r\n" not in request and not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                request += chunk
            self.requests += 1
            if self.mode == "silent":
                self._stop.wait()
                return
            if self.mode == "chunked":
                self._chunked(conn, request)
                return
            start = _range_start(request)
            headers = [
                "HTTP/1.1 206 Partial Content" if start else "HTTP/1.1 200 OK",
                f"ETag: {ETAG}",
                "Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT",
                "Content-Type: application/octet-stream",
                "Accept-Ranges: bytes",
            ]
            if start:
                headers.append(f"Content-Range: bytes {start}-{self.size - 1}/{self.size}")
            if self.mode == "short":
                # A whole GET is cut off mid-body; a ranged one is well framed but holds half
                # of the range its Content-Range promised.
                half = b"x" * ((self.size - start) // 2)
                length = len(half) if start else self.size
                headers += [f"Content-Length: {length}", "Connection: close"]
                conn.sendall(("\r\n".join(headers) + "\r\n\r\n").encode() + half)
                return
            headers.append(f"Content-Length: {self.size - start}")
            conn.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
            for _ in range(self.size - start):
                if self._stop.wait(self.interval):
                    return
                conn.sendall(b"x")

    def _chunked(self, conn: socket.socket, request: bytes) -> None:
        """Answer without Content-Length: the body goes in chunks (HEAD gets the length)."""
        head = [
            "HTTP/1.1 200 OK",
            f"ETag: {ETAG}",
            "Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT",
            "Content-Type: application/octet-stream",
        ]
        if request.startswith(b"HEAD"):
            head.append(f"Content-Length: {self.size}")
            conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            return
        head += ["Transfer-Encoding: chunked", "Connection: close"]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        left = self.size
        while left:
            n = min(left, 65536)
            conn.sendall(f"{n:x}\r\n".encode() + b"x" * n + b"\r\n")
            left -= n
        conn.sendall(b"0\r\n\r\n")

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        self._accept.join(5)
        for thread in self._threads:
            thread.join(5)


def _range_start(request: bytes) -> int:
    for line in request.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "range":
            return int(value.strip().removeprefix("bytes=").split("-", 1)[0] or 0)
    return 0


@contextlib.contextmanager
def serving(mode: str, **kwargs: Any) -> Iterator[LoopbackServer]:
    server = LoopbackServer(mode, **kwargs)
    try:
        yield server
    finally:
        server.close()


def connect(
    backend: str, server: LoopbackServer, retry: s3po.RetryConfig, **options: Any
) -> s3po.Connection:
    settings: dict[str, Any] = {
        "endpoint_url": server.url,
        "aws_access_key_id": "test-key-id",
        "aws_secret_access_key": "test-secret",
        "region_name": "us-east-1",
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        **options,
    }
    config = s3po.TransferConfig(retry=retry, checksum=False)
    return s3po.Connection(backend, config=config, **settings)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_trickling_body_fails_on_the_low_speed_limit(backend: str) -> None:
    """1 byte every 0.2 s never trips a 5 s read timeout; the low-speed limit catches it."""
    retry = s3po.RetryConfig(retries=1, base=0.0, low_speed_limit=1024, low_speed_time=1.0)
    with serving("trickle") as server, connect(backend, server, retry) as conn:
        started = time.monotonic()
        with pytest.raises(s3po.RetriesExhausted, match="low-speed limit") as caught:
            conn.download_bytes("bucket", "key")
        elapsed = time.monotonic() - started
    assert isinstance(caught.value.last_exception, s3po.TransientError)
    assert caught.value.key == "key"
    assert caught.value.attempts == 2
    assert server.requests == 2  # the first GET, then one resume from the byte reached
    assert elapsed < 30


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_deadline_cuts_an_attempt_short(backend: str, tmp_path: Any) -> None:
    """With the low-speed limit off, the deadline still ends a trickle in the middle of a read."""
    retry = s3po.RetryConfig(retries=5, deadline=2.0, low_speed_limit=0)
    target = tmp_path / "out.bin"
    with serving("trickle", interval=0.05) as server, connect(backend, server, retry) as conn:
        started = time.monotonic()
        with pytest.raises(s3po.RetriesExhausted, match="deadline") as caught:
            conn.download_file("bucket", "key", target)
        elapsed = time.monotonic() - started
    assert caught.value.key == "key"
    assert 1.5 < elapsed < 30
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_silent_server_fails_fast(backend: str) -> None:
    """A server that accepts and never answers: read_timeout per attempt, bounded by retries."""
    retry = s3po.RetryConfig(retries=1, base=0.0)
    with serving("silent") as server, connect(backend, server, retry, read_timeout=1.0) as conn:
        started = time.monotonic()
        with pytest.raises(s3po.RetriesExhausted) as caught:
            conn.download_bytes("bucket", "key")
        elapsed = time.monotonic() - started
    assert isinstance(caught.value.last_exception, s3po.TransientError)
    assert server.requests == 2  # s3po's two attempts; no retries hidden in the client below
    assert elapsed < 30


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_deadline_bounds_a_call_against_a_silent_server(backend: str) -> None:
    """``deadline`` bounds the whole call against a silent server, whatever the retries."""
    retry = s3po.RetryConfig(retries=50, base=0.0, deadline=3.0)
    with serving("silent") as server, connect(backend, server, retry, read_timeout=1.0) as conn:
        started = time.monotonic()
        with pytest.raises(s3po.RetriesExhausted, match="deadline"):
            conn.download_bytes("bucket", "key")
        elapsed = time.monotonic() - started
    assert elapsed < 3.0 + 1.0 + 5  # the deadline, at most one read_timeout over, and slack


@pytest.mark.timeout(60)
@pytest.mark.parametrize("size", [1000, SIZE])
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_body_that_ends_early_is_resumed_not_returned_short(backend: str, size: int) -> None:
    """A body that ends before the size the store reported is transient, and resumed."""
    retry = s3po.RetryConfig(retries=2, base=0.0)
    with (
        serving("short", size=size) as server,
        connect(backend, server, retry) as conn,
        pytest.raises(s3po.RetriesExhausted) as caught,
    ):
        conn.download_bytes("bucket", "key")
    assert isinstance(caught.value.last_exception, s3po.TransientError)
    assert caught.value.key == "key"
    assert server.requests == 3  # every attempt resumed from the byte reached


def test_defaults_fail_a_silent_server_well_under_four_minutes() -> None:
    """The default policy against a silent server: attempts times read_timeout, plus backoff."""
    retry = s3po.RetryConfig()
    read_timeout = ClientOptions().read_timeout
    worst_backoff = sum(min(retry.cap, retry.base * 2**n) for n in range(retry.retries))
    assert (retry.retries + 1) * read_timeout + worst_backoff < 120
    assert retry.low_speed_limit > 0
    assert retry.low_speed_time > 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_body_without_content_length_is_read_whole(backend: str) -> None:
    """A chunked answer (no Content-Length) is read to its end, not refused with a KeyError."""
    retry = s3po.RetryConfig(retries=1, base=0.0)
    with serving("chunked", size=300_000) as server, connect(backend, server, retry) as conn:
        if backend == "obstore":  # object_store needs the header: a typed refusal
            with pytest.raises(s3po.BackendError, match="Content-Length"):
                conn.download_bytes("bucket", "key")
        else:
            assert conn.download_bytes("bucket", "key") == b"x" * 300_000
