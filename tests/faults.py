"""A loopback HTTP proxy that injects S3 faults on a seeded schedule, for the reliability tests.

Import it by path, as ``tests/conftest.py`` does with ``tests/servers.py``::

    spec = importlib.util.spec_from_file_location("s3po_test_faults", "tests/faults.py")

:class:`FaultProxy` listens on 127.0.0.1 and forwards every request, byte for byte, to a real
S3 server (moto or SeaweedFS). The ``Host`` header is passed through unchanged, so SigV4
signatures made for the proxy's address still verify upstream. Clients may keep connections
alive; each forwarded request uses a fresh upstream connection (``Connection: close``), and the
response goes back with ``Content-Length`` framing.

Which requests fail is decided by a :class:`FaultPlan`: a request is named by its method,
path, query (without the server-chosen ``uploadId``) and ``Range``, and the n-th request with
a given name draws from ``random.Random(f"{seed}|{name}|{n}")``. The schedule therefore does
not depend on how threads interleave: the same seed fails the same requests on every run.
Faults can also be scripted with :meth:`FaultProxy.inject`.

The fault kinds (:data:`KINDS`):

- ``slowdown``: 503 SlowDown with S3's XML error body; the request never reaches the server.
- ``internal``: 500 InternalError, likewise.
- ``throttle``: 429 TooManyRequests, likewise.
- ``complete_error``: CompleteMultipartUpload answered 200 with an ``<Error>`` body, not
  forwarded.
- ``complete_error_late``: the same, after the server did complete the upload.
- ``reset_before``: the connection is reset (RST) before the request body is forwarded.
- ``reset_after``: the request is forwarded, then the connection is reset instead of
  answering (the server acted; the client does not know).
- ``truncate``: the response is forwarded with its full ``Content-Length`` N, and the
  connection closed after ``min(N // 2, cut_cap)`` bytes of body.
- ``stall``: nothing is sent for ``stall_seconds`` (choose it above the client's read
  timeout). Object bodies (GetObject) stall after ``min(N // 2, cut_cap)`` bytes; every other
  request stalls before it is forwarded.

Every request is recorded as a :class:`Record` (with the fault injected, if any), so tests can
match the client's retries against the faults exactly.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import re
import socket
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Self
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "BODY_OPERATIONS",
    "FORWARDED",
    "KINDS",
    "FaultPlan",
    "FaultProxy",
    "Record",
    "Request",
    "applies",
    "applies_to",
]

KINDS = (
    "slowdown",
    "internal",
    "throttle",
    "complete_error",
    "complete_error_late",
    "reset_before",
    "reset_after",
    "truncate",
    "stall",
)

#: Faults after which the server has acted on the request (the client cannot tell).
FORWARDED = frozenset({"complete_error_late", "reset_after", "truncate"})

#: Operations whose successful response carries a body that can be cut short.
BODY_OPERATIONS = frozenset(
    {
        "GetObject",
        "ListObjects",
        "ListMultipartUploads",
        "ListParts",
        "CreateMultipartUpload",
        "CompleteMultipartUpload",
        "CopyObject",
    }
)

_ERRORS = {
    "slowdown": (503, "Service Unavailable", "SlowDown", "Please reduce your request rate."),
    "internal": (
        500,
        "Internal Server Error",
        "InternalError",
        "We encountered an internal error. Please try again.",
    ),
    "throttle": (429, "Too Many Requests", "TooManyRequests", "Too many requests."),
    "complete_error": (
        200,
        "OK",
        "InternalError",
        "We encountered an internal error. Please try again.",
    ),
}
_ERRORS["complete_error_late"] = _ERRORS["complete_error"]

#: (method, ?uploads, ?delete) -> operation, for paths naming only a bucket.
_BUCKET_OPERATIONS = {
    ("GET", False, False): "ListObjects",
    ("GET", True, False): "ListMultipartUploads",
    ("HEAD", False, False): "HeadBucket",
    ("PUT", False, False): "CreateBucket",
    ("DELETE", False, False): "DeleteBucket",
    ("POST", False, True): "DeleteObjects",
}
#: (method, ?uploadId) -> operation, for paths naming an object (PUT and POST ?uploads aside).
_OBJECT_OPERATIONS = {
    ("GET", False): "GetObject",
    ("GET", True): "ListParts",
    ("HEAD", False): "HeadObject",
    ("DELETE", False): "DeleteObject",
    ("DELETE", True): "AbortMultipartUpload",
    ("POST", True): "CompleteMultipartUpload",
}
_UPLOAD_ID = re.compile(rb"<UploadId>([^<]+)</UploadId>")
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "expect", "proxy-connection"})
_MAX_LINE = 65536


@dataclass(frozen=True, slots=True)
class Request:
    """One request as the proxy saw it (header names in lower case)."""

    method: str
    path: str
    query: str
    headers: dict[str, str] = field(hash=False)

    @property
    def params(self) -> dict[str, str]:
        """The query parameters."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    @property
    def bucket(self) -> str:
        """The bucket (path-style addressing)."""
        return self.path.lstrip("/").split("/", 1)[0]

    @property
    def has_key(self) -> bool:
        """Whether the path names an object, not just a bucket."""
        parts = self.path.lstrip("/").split("/", 1)
        return len(parts) == 2 and bool(parts[1])

    @property
    def operation(self) -> str:
        """The S3 operation, from the method, path and query."""
        q = self.params
        if not self.has_key:
            return _BUCKET_OPERATIONS.get((self.method, "uploads" in q, "delete" in q), "Other")
        if self.method == "PUT":
            copy = "x-amz-copy-source" in self.headers
            if "partNumber" in q:
                return "UploadPartCopy" if copy else "UploadPart"
            return "CopyObject" if copy else "PutObject"
        upload = "uploadId" in q
        if self.method == "POST" and "uploads" in q:
            return "CreateMultipartUpload"
        return _OBJECT_OPERATIONS.get((self.method, upload), "Other")

    @property
    def range(self) -> str | None:
        """The Range header, if any."""
        return self.headers.get("range")

    @property
    def range_start(self) -> int | None:
        """The first byte a ``bytes=a-b`` Range asks for."""
        value = self.range
        if not value or not value.startswith("bytes="):
            return None
        first = value.removeprefix("bytes=").split("-", 1)[0]
        return int(first) if first.isdigit() else None

    @property
    def if_match(self) -> str | None:
        """The If-Match header, if any."""
        return self.headers.get("if-match")

    @property
    def name(self) -> str:
        """What the schedule keys on: stable across runs (no bucket, no upload id)."""
        query = sorted((k, v) for k, v in parse_qsl(self.query, keep_blank_values=True))
        query = [(k, v) for k, v in query if k != "uploadId"]
        key = self.path.lstrip("/").partition("/")[2]  # not the bucket: tests make new ones
        return f"{self.method} {key} {query} {self.range or ''}"


@dataclass(slots=True)
class Record:
    """One request and what the proxy did with it."""

    seq: int
    request: Request
    fault: str | None = None
    forwarded: bool = False
    status: int | None = None
    #: The upload id a forwarded CreateMultipartUpload created (even if its reply was lost).
    upload_id: str | None = None

    @property
    def operation(self) -> str:
        """The request's S3 operation."""
        return self.request.operation


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultPlan:
    """Which requests fail, and how: a seeded, interleaving-independent schedule.

    Attributes:
        seed: Seeds the schedule.
        rate: Probability that a request gets a fault (0 to 1).
        kinds: The fault kinds to draw from (each request draws among those that apply).
        operations: Only these S3 operations get faults (None: every operation).
    """

    seed: int = 0
    rate: float = 0.0
    kinds: tuple[str, ...] = KINDS
    operations: frozenset[str] | None = None

    def __post_init__(self) -> None:
        """Check the values."""
        unknown = set(self.kinds) - set(KINDS)
        if unknown or not 0 <= self.rate <= 1:
            msg = f"bad fault plan: rate {self.rate}, unknown kinds {sorted(unknown)}"
            raise ValueError(msg)

    def decide(self, request: Request, occurrence: int) -> str | None:
        """The fault for the ``occurrence``-th request named like ``request``, or None."""
        if self.rate <= 0:
            return None
        if self.operations is not None and request.operation not in self.operations:
            return None
        eligible = [k for k in self.kinds if applies(k, request)]
        if not eligible:
            return None
        rng = random.Random(f"{self.seed}|{request.name}|{occurrence}")
        if rng.random() >= self.rate:
            return None
        return rng.choice(eligible)


def applies(kind: str, request: Request) -> bool:
    """Whether fault ``kind`` makes sense for ``request``."""
    return applies_to(kind, request.operation)


def applies_to(kind: str, operation: str) -> bool:
    """Whether fault ``kind`` makes sense for the S3 ``operation``."""
    if kind.startswith("complete_error"):
        return operation == "CompleteMultipartUpload"
    if kind == "truncate":
        return operation in BODY_OPERATIONS
    return True


@dataclass(slots=True)
class _Script:
    kind: str
    match: Callable[[Request], bool]
    times: int


class FaultProxy:
    """A threaded loopback proxy in front of ``upstream`` that injects faults.

    Args:
        upstream: The real server's URL (``http://127.0.0.1:PORT``).
        plan: The random schedule (default: no faults).
        stall_seconds: How long a ``stall`` lasts; choose it above the client's read timeout.
        cut_cap: ``truncate`` and ``stall`` keep at most this many body bytes, so the cut
            falls inside what a client reading only the first part of a body consumes.
        io_timeout: Socket timeout towards the client and the server.

    Attributes:
        after_fault: Called with the :class:`Record` right after a fault is injected, before
            the client can see it (for a ``truncate``, before the connection closes).
    """

    def __init__(
        self,
        upstream: str,
        *,
        plan: FaultPlan | None = None,
        stall_seconds: float = 3.0,
        cut_cap: int = 1024 * 1024,
        io_timeout: float = 60.0,
    ) -> None:
        """Prepare the proxy; :meth:`start` opens the port."""
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            msg = f"upstream must be http://HOST:PORT, not {upstream!r}"
            raise ValueError(msg)
        self.upstream = (parts.hostname, parts.port)
        self.plan = plan or FaultPlan()
        self.stall_seconds = stall_seconds
        #: Sent as ``Retry-After`` with ``slowdown`` and ``throttle`` answers when set.
        self.retry_after: str | None = None
        self.cut_cap = cut_cap
        self.io_timeout = io_timeout
        self.after_fault: Callable[[Record], None] | None = None
        #: Client connections accepted so far (a client that reuses its connections opens few).
        self.accepted = 0
        self._lock = threading.Lock()
        self._records: list[Record] = []
        self._seen: Counter[str] = Counter()
        self._scripts: list[_Script] = []
        self._seq = itertools.count()
        self._stopping = threading.Event()
        self._clients: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self.url = ""

    # -- control ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen on a free loopback port; :attr:`url` is set."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener = listener
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        self._acceptor = threading.Thread(
            target=self._accept_loop, name="faults-proxy-accept", daemon=True
        )
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Close the port and every connection, and wait for the proxy's threads."""
        self._stopping.set()
        if self._acceptor is not None:
            self._acceptor.join(5)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            clients = list(self._clients)
            threads = list(self._threads)
        for sock in clients:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(5)

    def __enter__(self) -> Self:
        """Start."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.stop()

    def configure(self, plan: FaultPlan) -> None:
        """Use ``plan`` from now on and forget the requests seen so far."""
        with self._lock:
            self.plan = plan
            self._records.clear()
            self._seen.clear()
            self._scripts.clear()

    def inject(
        self,
        kind: str,
        *,
        operation: str | None = None,
        match: Callable[[Request], bool] | None = None,
        times: int = 1,
    ) -> None:
        """Inject ``kind`` into the next ``times`` matching requests, before the plan's draw."""
        if kind not in KINDS:
            msg = f"unknown fault kind {kind!r}"
            raise ValueError(msg)

        def matches(request: Request) -> bool:
            if operation is not None and request.operation != operation:
                return False
            return match is None or match(request)

        with self._lock:
            self._scripts.append(_Script(kind, matches, times))

    # -- what happened ---------------------------------------------------------------------

    @property
    def records(self) -> list[Record]:
        """Every request so far, in arrival order."""
        with self._lock:
            return list(self._records)

    def faults(self) -> list[Record]:
        """The requests that got a fault."""
        return [r for r in self.records if r.fault is not None]

    def requests(self, operation: str | None = None) -> list[Record]:
        """The requests for ``operation`` (every request if None)."""
        return [r for r in self.records if operation is None or r.operation == operation]

    def fault_counts(self) -> Counter[str]:
        """How many faults of each kind were injected."""
        return Counter(r.fault for r in self.records if r.fault is not None)

    def faults_proxy_connections(self) -> list[socket.socket]:
        """The client connections open now."""
        with self._lock:
            return list(self._clients)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no client connection is open (the client closed its pool)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._threads:
                    return True
            time.sleep(0.05)
        return False

    # -- serving ---------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(
                target=self._serve, args=(client,), name="faults-proxy-conn", daemon=True
            )
            with self._lock:
                self._clients.add(client)
                self._threads.add(thread)
                self.accepted += 1
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(self.io_timeout)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = client.makefile("rb")
        try:
            while not self._stopping.is_set():
                head = _read_head(reader)
                if head is None:
                    return
                if not self._exchange(client, reader, *head):
                    return
        except (OSError, ValueError):
            return
        finally:
            with contextlib.suppress(OSError):
                reader.close()
            with contextlib.suppress(OSError):
                client.close()
            with self._lock:
                self._clients.discard(client)
                self._threads.discard(threading.current_thread())

    def _choose(self, request: Request) -> Record:
        with self._lock:
            record = Record(next(self._seq), request)
            self._records.append(record)
            for script in self._scripts:
                if script.times > 0 and applies(script.kind, request) and script.match(request):
                    script.times -= 1
                    record.fault = script.kind
                    return record
            occurrence = self._seen[request.name]
            self._seen[request.name] += 1
            record.fault = self.plan.decide(request, occurrence)
            return record

    def _exchange(
        self, client: socket.socket, reader: BinaryIO, line: str, headers: list[tuple[str, str]]
    ) -> bool:
        """Handle one request; return whether the client connection stays open."""
        method, target, _ = line.split(" ", 2)
        split = urlsplit(target)
        lower = {k.lower(): v for k, v in headers}
        request = Request(method.upper(), split.path, split.query, lower)
        record = self._choose(request)
        fault = record.fault
        expects = lower.get("expect", "").lower() == "100-continue"

        answered = self._before_forwarding(client, reader, request, record, expects=expects)
        if answered is not None:
            return answered
        if expects:
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = _read_body(reader, lower)
        status_line, resp_headers, resp_body = self._forward(line, headers, body, request)
        record.forwarded = True
        record.status = int(status_line.split(" ", 2)[1])
        if request.operation == "CreateMultipartUpload":
            found = _UPLOAD_ID.search(resp_body)
            record.upload_id = found[1].decode() if found else None

        if fault == "reset_after":
            self._fired(record)
            _reset(client)
            return False
        if fault == "complete_error_late":
            self._answer_error(client, request, record, close=False)
            return True
        if fault in {"truncate", "stall"} and not resp_body:
            record.fault = "reset_after"  # nothing to cut short: drop the response instead
            self._fired(record)
            _reset(client)
            return False
        head = _response_head(status_line, resp_headers, resp_body, head_only=method == "HEAD")
        if fault in {"truncate", "stall"}:
            keep = min(len(resp_body) // 2, self.cut_cap)
            client.sendall(head + resp_body[:keep])
            if fault == "stall":
                self._stopping.wait(self.stall_seconds)
            self._fired(record)
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            return False
        client.sendall(head if method == "HEAD" else head + resp_body)
        return lower.get("connection", "").lower() != "close"

    def _before_forwarding(
        self,
        client: socket.socket,
        reader: BinaryIO,
        request: Request,
        record: Record,
        *,
        expects: bool,
    ) -> bool | None:
        """Inject a fault that keeps the request from the server; None if there is none."""
        fault = record.fault
        lower = request.headers
        has_body = "content-length" in lower or "chunked" in lower.get("transfer-encoding", "")
        if fault == "reset_before":
            if has_body and not expects:
                _read_body_prefix(reader, lower)
            self._fired(record)
            _reset(client)
            return False
        if fault == "stall" and request.operation != "GetObject":
            self._fired(record)
            self._stopping.wait(self.stall_seconds)
            return False
        if fault in {"slowdown", "internal", "throttle", "complete_error"}:
            if expects:  # answer before the body, as S3 does, and drop the connection
                self._answer_error(client, request, record, close=True)
                return False
            _read_body(reader, lower)
            self._answer_error(client, request, record, close=False)
            return True

        return None

    def _fired(self, record: Record) -> None:
        if self.after_fault is not None:
            self.after_fault(record)

    def _answer_error(
        self, client: socket.socket, request: Request, record: Record, *, close: bool
    ) -> None:
        assert record.fault is not None
        status, reason, code, message = _ERRORS[record.fault]
        request_id = uuid.uuid4().hex[:16].upper()
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<Resource>{request.path}</Resource><RequestId>{request_id}</RequestId></Error>"
        ).encode()
        if record.status is None:
            record.status = status
        head_only = request.method == "HEAD"
        lines = [
            f"HTTP/1.1 {status} {reason}",
            "Content-Type: application/xml",
            f"Content-Length: {0 if head_only else len(body)}",
            f"x-amz-request-id: {request_id}",
        ]
        if self.retry_after is not None and record.fault in {"slowdown", "throttle"}:
            lines.append(f"Retry-After: {self.retry_after}")
        if close:
            lines.append("Connection: close")
        self._fired(record)
        client.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + (b"" if head_only else body))

    def _forward(
        self, line: str, headers: list[tuple[str, str]], body: bytes, request: Request
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        """Send the request upstream on a fresh connection; return the whole response."""
        kept = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
        kept.append(("Connection", "close"))
        head = line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept) + "\r\n"
        with socket.create_connection(self.upstream, timeout=self.io_timeout) as upstream:
            upstream.sendall(head.encode("latin-1") + body)
            with upstream.makefile("rb") as stream:
                parsed = _read_head(stream)
                if parsed is None:
                    msg = "upstream closed without answering"
                    raise OSError(msg)
                status_line, resp_headers = parsed
                lower = {k.lower(): v for k, v in resp_headers}
                status = int(status_line.split(" ", 2)[1])
                if request.method == "HEAD" or status in {204, 304} or 100 <= status < 200:
                    resp_body = b""
                elif "content-length" in lower or "chunked" in lower.get("transfer-encoding", ""):
                    resp_body = _read_body(stream, lower)
                else:
                    resp_body = stream.read()
        return status_line, resp_headers, resp_body


# -- HTTP/1.1 framing ------------------------------------------------------------------------


def _read_head(stream: BinaryIO) -> tuple[str, list[tuple[str, str]]] | None:
    """Read a start line and headers; None at a clean end of stream."""
    line = stream.readline(_MAX_LINE)
    while line in {b"\r\n", b"\n"}:  # tolerate stray blank lines between messages
        line = stream.readline(_MAX_LINE)
    if not line:
        return None
    headers: list[tuple[str, str]] = []
    while True:
        raw = stream.readline(_MAX_LINE)
        if not raw:
            msg = "the stream ended inside the headers"
            raise ValueError(msg)
        if raw in {b"\r\n", b"\n"}:
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return line.decode("latin-1").rstrip("\r\n"), headers


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        msg = f"expected {n} bytes, got {len(data)}"
        raise ValueError(msg)
    return data


def _read_body(stream: BinaryIO, lower: dict[str, str]) -> bytes:
    """Read a whole body framed by Content-Length or chunked encoding, kept as sent."""
    if "chunked" in lower.get("transfer-encoding", "").lower():
        return b"".join(_chunks(stream))
    return _read_exactly(stream, int(lower.get("content-length", "0")))


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    """The raw bytes of a chunked body, framing included (forwarded verbatim)."""
    while True:
        size_line = stream.readline(_MAX_LINE)
        if not size_line:
            msg = "chunked body ended early"
            raise ValueError(msg)
        yield size_line
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while True:  # trailers, then the blank line
                trailer = stream.readline(_MAX_LINE)
                yield trailer
                if trailer in {b"\r\n", b"\n", b""}:
                    return
        yield _read_exactly(stream, size + 2)


def _read_body_prefix(stream: BinaryIO, lower: dict[str, str]) -> None:
    """Read about half of a Content-Length body (a reset then lands mid-upload)."""
    length = int(lower.get("content-length", "0") or 0)
    if length:
        stream.read(length // 2)


def _response_head(
    status_line: str, headers: list[tuple[str, str]], body: bytes, *, head_only: bool
) -> bytes:
    """The response head for the client, with Content-Length framing (HEAD: as upstream)."""
    drop = _HOP_BY_HOP | {"transfer-encoding"}
    if not head_only:
        drop |= {"content-length"}
    kept = [(k, v) for k, v in headers if k.lower() not in drop]
    if not head_only:
        kept.append(("Content-Length", str(len(body))))
    text = status_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept) + "\r\n"
    return text.encode("latin-1")


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()
