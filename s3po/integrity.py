"""End-to-end integrity: a checksum of the logical content, stored and verified.

On upload s3po records a checksum of the content *before* compression in the object's
metadata: ``s3po-xxh128`` (XXH3-128, the default) or ``s3po-sha256`` (SHA-256, with
``checksum="sha256"``). Bytes, text, files and seekable streams get one; a stream that cannot
seek is uploaded without it, since metadata must be sent before the first byte. On download,
after decoding, the bytes are hashed as they stream and compared at the end; a mismatch
raises :class:`~s3po.CorruptData` instead of handing back wrong bytes. Whichever of the two
an object carries is checked. The transport is checked separately, per request, by the
backend (x-amz-checksum-crc32 or Content-MD5).

XXH3-128 is the default because it guards against the same thing SHA-256 does here
(accidental damage; whoever can rewrite the object can rewrite its metadata too) at about
20 GB/s instead of 1.7, so it no longer costs a noticeable share of a fast transfer.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import hashlib
import io
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import xxhash

from s3po._types import Body, GetResult, ObjectInfo
from s3po.backend.sinks import FileSink
from s3po.codecs import stored_encoding
from s3po.errors import ConfigError, CorruptData, SourceChanged

if TYPE_CHECKING:
    from s3po.backend.sinks import DownloadSink

__all__ = [
    "DEFAULT_HASH",
    "HASHES",
    "Checksum",
    "ContentHash",
    "FileHasher",
    "VerifyingBody",
    "content_digest",
    "content_hash",
    "expected_checksum",
    "file_digest",
    "verify_body",
]

_CHUNK = 4 * 1024 * 1024
#: Chunks at least this large are hashed on a helper thread, overlapping the caller's writes.
_PIPELINE_MIN = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ContentHash:
    """A hash s3po can store as a content checksum.

    Attributes:
        name: The name ``TransferConfig(checksum=...)`` takes (``"xxh128"``, ``"sha256"``).
        metadata: The user-metadata name the hex digest is stored under.
        label: How error messages name it.
        new: Makes a hasher (``update``/``hexdigest``), optionally fed initial bytes.

    .. versionadded:: 0.1.0
    """

    name: str
    metadata: str
    label: str
    new: Callable[..., Any]


#: The content hashes, in the order a download looks for them.
HASHES: dict[str, ContentHash] = {
    h.name: h
    for h in (
        ContentHash("xxh128", "s3po-xxh128", "XXH3-128", xxhash.xxh3_128),
        ContentHash("sha256", "s3po-sha256", "SHA-256", hashlib.sha256),
    )
}
#: What ``checksum=True`` means.
DEFAULT_HASH = "xxh128"


def content_hash(choice: bool | str) -> ContentHash | None:
    """The hash ``TransferConfig.checksum`` selects: None when off.

    Raises:
        ConfigError: An unknown hash name.

    .. versionadded:: 0.1.0
    """
    if choice is False:
        return None
    if choice is True:
        return HASHES[DEFAULT_HASH]
    found = HASHES.get(str(choice).lower())
    if found is None:
        raise ConfigError(
            f"unknown checksum {choice!r}: use True (XXH3-128), False (none), or one of "
            f"{sorted(HASHES)}"
        )
    return found


@dataclass(frozen=True, slots=True)
class Checksum:
    """A content checksum: the hash's name and the hex digest (``str()`` gives ``name:hex``).

    .. versionadded:: 0.1.0
    """

    algorithm: str
    hexdigest: str

    @property
    def hash(self) -> ContentHash:
        """The :class:`ContentHash` this digest was made with."""
        return HASHES[self.algorithm]

    def __str__(self) -> str:
        """``xxh128:0123...``."""
        return f"{self.algorithm}:{self.hexdigest}"


@functools.cache
def _hasher() -> cf.ThreadPoolExecutor:
    return cf.ThreadPoolExecutor(os.cpu_count() or 2, thread_name_prefix="s3po-hash")


def content_digest(stream: IO[bytes] | Any, kind: ContentHash) -> Checksum | None:  # noqa: ANN401
    """The ``kind`` checksum of a seekable stream from its position on; None if it cannot seek.

    The stream is left where it was.

    .. versionadded:: 0.1.0
    """
    if isinstance(stream, io.BytesIO):
        return Checksum(kind.name, kind.new(stream.getbuffer()[stream.tell() :]).hexdigest())
    try:
        if not stream.seekable():
            return None
        start = stream.tell()
    except (AttributeError, OSError, ValueError):
        return None
    digest = kind.new()
    buffer = bytearray(_CHUNK)
    view = memoryview(buffer)
    readinto = getattr(stream, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
        else:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            digest.update(chunk)
    stream.seek(start)
    return Checksum(kind.name, digest.hexdigest())


def file_digest(fd: int, offset: int, size: int, kind: ContentHash, *, path: str) -> Checksum:
    """The ``kind`` checksum of bytes ``[offset, offset + size)`` of the open file ``fd``.

    Raises:
        SourceChanged: The file ended before ``offset + size`` (it shrank since it was
            measured).

    .. versionadded:: 0.2.0
    """
    digest = kind.new()
    view = memoryview(bytearray(min(_CHUNK, size) or 1))
    at, end = offset, offset + size
    while at < end:
        n = os.preadv(fd, [view[: min(len(view), end - at)]], at)
        if not n:
            raise SourceChanged(
                f"{path} is shorter than when its upload began ({at - offset} of {size} "
                "bytes); nothing was uploaded and the file was kept",
                path=path,
            )
        digest.update(view[:n])
        at += n
    return Checksum(kind.name, digest.hexdigest())


def _require(expected: Checksum, actual: str, bucket: str, key: str) -> None:
    """Raise CorruptData unless the received digest is the stored one."""
    if actual != expected.hexdigest.lower():
        raise CorruptData(
            f"content checksum mismatch: stored {expected.hash.label} {expected.hexdigest}, "
            f"received {actual}; the "
            "object was altered after upload or damaged in transit",
            bucket=bucket,
            key=key,
        )


class VerifyingBody(Body):
    """Hashes what passes through and checks it against the expected digest at the end.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self, source: Body, expected: Checksum, *, bucket: str, key: str, size: int = 0
    ) -> None:
        """Check ``source`` (``size`` bytes of content, if known) against ``expected``."""
        super().__init__()
        self._size = size
        self._source = source
        self._expected = expected
        self._digest = expected.hash.new()
        self._bucket = bucket
        self._key = key
        self._checked = False
        self._pending: cf.Future[None] | None = None

    def read(self, size: int = -1) -> bytes:
        """Read and hash; at the end, raise CorruptData on a mismatch.

        Large chunks are hashed on a helper thread (hashlib releases the GIL) while the
        caller writes them out; chunks still enter the hash in order.
        """
        data = self._source.read(size)
        if self._pending is not None:
            self._pending.result()
            self._pending = None
        if len(data) >= _PIPELINE_MIN:
            self._pending = _hasher().submit(self._digest.update, data)
        elif data:
            self._digest.update(data)
        elif not self._checked and (size is None or size != 0):
            self._checked = True
            _require(self._expected, self._digest.hexdigest(), self._bucket, self._key)
        return data

    def readall(self) -> bytes:
        """Read to the end, verifying.

        The source's own ``readall`` is used, so a layer below that guards whole reads
        (the codec layer's expansion limit) sees this one as a whole read too.
        """
        if self._pending is not None:
            self._pending.result()
            self._pending = None
        data = self._source.readall()
        self._digest.update(data)
        if not self._checked:
            self._checked = True
            _require(self._expected, self._digest.hexdigest(), self._bucket, self._key)
        return data

    def drain(self, sink: DownloadSink) -> int:
        """Drain into ``sink``, verifying; raise CorruptData on a mismatch.

        A ranged body written into a file sink fills it out of order: the file is then
        hashed as contiguous stretches of it complete (a :class:`FileHasher` the sink
        feeds); otherwise the bytes are hashed as they pass, in order.

        .. versionadded:: 0.4.0
        """
        if not (self._source.ranged and isinstance(sink, FileSink)):
            return super().drain(sink)
        # The content's size is what the drain wrote: a decoding body's differs from the
        # stored size the object reports.
        hasher = FileHasher(sink.fd, None, self._expected.hash)
        sink.hash_with(hasher)
        try:
            size = self._source.drain(sink)
            hasher.check(self._expected, bucket=self._bucket, key=self._key, size=size)
        finally:
            sink.hash_with(None)
            hasher.stop()
        self._checked = True
        return size

    def close(self) -> None:
        """Close the source."""
        if self._pending is not None:
            self._pending.cancel()
        self._source.close()
        super().close()


class FileHasher:
    """Hashes a file front to back on a helper thread while ranges of it are still arriving.

    ``written(lo, hi)`` reports a finished range; the thread hashes each contiguous stretch
    from the start as soon as it is complete (reading it back from the page cache), so by
    the time the last range lands, little is left to hash.

    .. versionadded:: 0.1.0
    """

    def __init__(self, fd: int, size: int | None, kind: ContentHash) -> None:
        """Hash the first ``size`` bytes of the open file ``fd`` with ``kind``.

        ``size`` None: as many as :meth:`check` is told.

        .. versionchanged:: 0.4.0
           ``size`` may be None.
        """
        self._fd = fd
        self._size = size
        self._digest = kind.new()
        self._ready: dict[int, int] = {}
        self._next = 0
        self._stopped = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="s3po-hash-file", daemon=True)
        self._thread.start()

    def written(self, lo: int, hi: int) -> None:
        """Bytes ``[lo, hi)`` are in the file."""
        with self._cond:
            self._ready[lo] = hi
            self._cond.notify()

    def _run(self) -> None:
        view = memoryview(bytearray(_CHUNK))
        try:
            while True:
                with self._cond:
                    while True:
                        if self._stopped:
                            return
                        if self._size is not None and self._next >= self._size:
                            return
                        if self._next in self._ready:
                            break
                        self._cond.wait()
                    hi = self._ready.pop(self._next)
                pos = self._next
                while pos < hi:
                    n = os.preadv(self._fd, [view[: min(_CHUNK, hi - pos)]], pos)
                    if not n:
                        break
                    self._digest.update(view[:n])
                    pos += n
                self._next = hi
        except BaseException as exc:  # noqa: BLE001 - reported by check()
            self._error = exc

    def check(self, expected: Checksum, *, bucket: str, key: str, size: int | None = None) -> None:
        """Wait for the last byte; raise CorruptData if the digest is not ``expected``.

        ``size`` sets the number of bytes to hash if the hasher was made without it.

        .. versionchanged:: 0.4.0
           ``size``.
        """
        with self._cond:
            if self._size is None:
                self._size = size if size is not None else self._next
            self._cond.notify()
        self._thread.join()
        if self._error is not None:
            raise self._error
        actual = self._digest.hexdigest() if self._next >= self._size else "(incomplete)"
        _require(expected, actual, bucket, key)

    def stop(self) -> None:
        """Stop early (the download failed)."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join()


def expected_checksum(info: ObjectInfo, *, decompress: bool) -> Checksum | None:
    """The stored content checksum a download can be checked against, or None.

    The checksum is of the logical content, so it applies when the body is decoded
    (``decompress``) or was never encoded; stored compressed bytes cannot be checked. An
    object whose ``Content-Encoding`` was dropped by another tool counts as encoded by the
    codec s3po recorded (:func:`~s3po.codecs.stored_encoding`).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.5.0
       s3po's ``s3po-codec`` record counts when ``Content-Encoding`` names no codec.
    """
    headers = info.headers
    if not decompress and stored_encoding(headers.content_encoding, headers.metadata):
        return None
    for kind in HASHES.values():
        stored = info.headers.metadata.get(kind.metadata)
        if stored:
            return Checksum(kind.name, stored)
    return None


def verify_body(result: GetResult, *, decompress: bool) -> GetResult:
    """Wrap ``result`` so its content is verified, when there is a checksum to check.

    ``decompress`` says whether the body was decoded; see :func:`expected_checksum`.

    .. versionadded:: 0.1.0
    """
    expected = expected_checksum(result.info, decompress=decompress)
    if expected is None:
        return result
    info = result.info
    body = VerifyingBody(result.body, expected, bucket=info.bucket, key=info.key, size=info.size)
    return GetResult(info=result.info, body=body, start=result.start, end=result.end)
