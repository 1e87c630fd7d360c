"""The Transfer pipeline: a backend wrapped in codec, chunking and retry middleware.

The stack, outermost first::

    user middleware ... -> CodecLayer -> Chunking -> Retry -> backend

:class:`Transfer` builds a stack for each call from its :class:`~s3po.TransferConfig` (with
the call's overrides), so per-call options such as ``compress=`` or ``retries=`` are plain
configuration, and the backend below is shared by every call and every thread.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pathlib
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from s3po._types import (
    Backend,
    Body,
    CommonPrefix,
    FileIdentity,
    ForwardingBackend,
    GetResult,
    Headers,
    MultipartUpload,
    ObjectInfo,
    UploadBody,
)
from s3po.config import TransferConfig
from s3po.errors import (
    CorruptData,
    InvalidRequest,
    LocalFileError,
    S3poError,
    SourceChanged,
    TransientError,
)
from s3po.integrity import (
    Checksum,
    FileHasher,
    content_digest,
    content_hash,
    expected_checksum,
    file_digest,
    verify_body,
)
from s3po.middleware import Chunking, CodecLayer, Retry
from s3po.middleware.codec import encoding_tokens
from s3po.validation import check_bucket, check_key

if TYPE_CHECKING:
    from s3po._scope import Scope
    from s3po.integrity import ContentHash
    from s3po.middleware.retry import RetryEvent
    from s3po.plugins import CodecRegistry

__all__ = ["DownloadResult", "Source", "Transfer", "UploadResult"]

log = logging.getLogger("s3po")

#: What an upload reads from: bytes, text (encoded UTF-8), a path, or a binary stream.
Source = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]

#: Bytes moved per read when copying a body to a file (a whole default part).
_COPY_CHUNK = 1024 * 1024

#: Progress callbacks receive the number of bytes just moved (may be negative on a rewind).
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadResult:
    """What an upload stored.

    Attributes:
        bucket: The bucket.
        key: The key.
        size: Bytes read from the source (before compression).
        stored_size: Bytes stored (after compression), when the backend reports it.
        etag: The stored object's ETag.
        content_encoding: The Content-Encoding stored, if any.
        version_id: The version, on versioned buckets.
        seconds: Wall time of the upload.
        checksum: The content checksum stored in the object's metadata (XXH3-128 as
            ``s3po-xxh128`` by default); None for streams that cannot seek, for bytes that
            arrive already encoded, or with ``checksum=False``.
        source: The identity of the file uploaded (size, times, inode) when its upload
            began, for sources that are regular files; every byte sent was read from the
            file in this state.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.2.0
       ``source``.
    """

    bucket: str
    key: str
    size: int
    stored_size: int | None
    etag: str
    content_encoding: str | None = None
    version_id: str | None = None
    seconds: float = 0.0
    checksum: Checksum | None = None
    source: FileIdentity | None = None

    @property
    def multipart(self) -> bool:
        """Whether the object went up in parts (its ETag has the ``-N`` form)."""
        return "-" in self.etag


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadResult:
    """What a download to a file or stream wrote.

    .. versionadded:: 0.1.0
    """

    bucket: str
    key: str
    size: int
    info: ObjectInfo
    path: str | None = None
    seconds: float = 0.0


class _Counting:
    """Counts bytes read through a stream, reporting to a progress callback.

    For a file (``identity`` given) it is also the last line of defence when the bytes
    flow through Python (compressed uploads, or a file that no longer has its planned
    size): the read that hands out the last planned byte first checks that the file is
    unchanged and that the bytes of this pass hash to the declared ``expected`` checksum,
    and any byte beyond ``size`` is refused, so the request or part carrying them is never
    completed. Each check raises :class:`~s3po.SourceChanged`.
    """

    def __init__(
        self,
        stream: IO[bytes],
        progress: Progress | None,
        *,
        source: _Source | None = None,
        expected: Checksum | None = None,
    ) -> None:
        self._stream = stream
        self._progress = progress
        self.count = 0
        self.source = source
        self.identity = source.identity if source is not None else None
        self.path = source.path if source is not None else None
        self._size = source.size if source is not None else None
        self._expected = expected
        #: The checksum declared for the planned bytes (file windows check it too).
        self.content = expected if self._size is not None else None
        self._digest: Any = expected.hash.new() if expected is not None else None
        self._checked = False

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        if isinstance(data, str):
            raise InvalidRequest(
                "the upload stream is opened in text mode; open it with 'rb' or pass bytes"
            )
        if self.source is not None:
            self._watch(data, n)
        self.count += len(data)
        if self._progress is not None and data:
            self._progress(len(data))
        return data

    def _watch(self, data: bytes, n: int) -> None:
        """Hash ``data`` and check the file before its last planned byte is handed out."""
        if self._digest is not None:
            self._digest.update(data)
        total = self.count + len(data)
        if self._checked:
            if data:
                self._changed(f"it grew past the {self._size} bytes it had when its upload began")
            return
        at_end = (self._size is not None and total >= self._size) or (not data and n != 0)
        if not at_end:
            return
        self._checked = True
        if self._size is not None and total != self._size:
            self._changed(f"{total} bytes were read of the {self._size} it had")
        if self.identity is not None and self.source is not None:
            self.identity.check(self.source.fd, self.path)
        expected = self._expected
        if self._digest is not None and expected is not None:
            actual = self._digest.hexdigest()
            if actual != expected.hexdigest:
                self._changed(f"the bytes read no longer match its {expected.hash.label}")

    def _changed(self, why: str) -> None:
        raise SourceChanged(
            f"{self.path} changed while it was being uploaded ({why}); the upload was not "
            "committed and the file was kept: upload it again once nothing writes to it",
            path=self.path,
        )

    def _restart(self, pos: int) -> None:
        """A seek: a pass from the start is checked again; one from elsewhere cannot be."""
        if self.source is None:
            return
        self._checked = False
        if self._expected is not None:
            self._digest = self._expected.hash.new() if pos == self.source.start else None

    def seekable(self) -> bool:
        return bool(getattr(self._stream, "seekable", lambda: False)())

    def fileno(self) -> int:
        return self._stream.fileno()

    def reposition(self, pos: int) -> None:
        """Move the stream without counting the bytes skipped (they were counted as sent)."""
        self._stream.seek(pos)
        self._checked = True  # sent as windows, which checked themselves

    def advance(self, n: int) -> None:
        """Count ``n`` bytes sent without passing through ``read`` (file windows)."""
        self.count += n
        if self._progress is not None and n:
            self._progress(n)

    def tell(self) -> int:
        return self._stream.tell()

    def seek(self, pos: int) -> int:
        moved = pos - self._stream.tell()
        result = self._stream.seek(pos)
        self.count += moved
        if self._progress is not None and moved:
            self._progress(moved)
        self._restart(pos)
        return result


@dataclass(frozen=True, slots=True)
class _Source:
    """A regular file being uploaded: where its bytes start, how many, in what state.

    Attributes:
        fd: The open file.
        path: Its name, for messages.
        start: The offset the upload reads from.
        size: The bytes planned (None for a stream given as is: read to its end).
        identity: The file's identity when it was opened, before the checksum pass.
    """

    fd: int
    path: str
    start: int
    size: int | None
    identity: FileIdentity


class Transfer:
    """Move objects through a configured middleware stack over one backend.

    Args:
        backend: The storage backend (shared; closed by :meth:`close`).
        codecs: The codec registry for compress and decompress.
        config: Defaults for every call.
        sleep: The retry layer's sleep (inject a fake in tests).
        on_retry: Called before each retry with a :class:`~s3po.middleware.retry.RetryEvent`.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        backend: Backend,
        codecs: CodecRegistry,
        *,
        config: TransferConfig | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[RetryEvent], None] | None = None,
    ) -> None:
        """Build the pipeline over ``backend``."""
        self.backend = backend
        self.codecs = codecs
        self.config = config or TransferConfig()
        self.sleep = sleep
        self.on_retry = on_retry

    def stack(self, config: TransferConfig | None = None, scope: Scope | None = None) -> Backend:
        """Build the middleware stack for ``config`` (default: the Transfer's own).

        ``scope`` shares a batch's in-flight byte budget and cancel switch.
        """
        return self._build(config or self.config, scope, self.backend)

    def _build(self, cfg: TransferConfig, scope: Scope | None, base: Backend) -> Backend:
        layer: Backend = Retry(base, cfg.retry, sleep=self.sleep, on_retry=self.on_retry)
        layer = Chunking(layer, cfg.chunk, scope=scope)
        layer = CodecLayer(
            layer,
            self.codecs,
            compress=cfg.compress,
            level=cfg.compress_level,
            decompress=cfg.decompress,
            max_decompressed_size=cfg.max_decompressed_size,
            max_expansion_ratio=cfg.max_expansion_ratio,
        )
        for middleware in reversed(cfg.middleware):
            layer = middleware(layer)
        return layer

    # -- uploads --------------------------------------------------------------------------

    def upload(
        self,
        bucket: str,
        key: str,
        source: Source,
        *,
        headers: Headers | None = None,
        config: TransferConfig | None = None,
        progress: Progress | None = None,
        scope: Scope | None = None,
    ) -> UploadResult:
        """Upload ``source`` to ``bucket``/``key``.

        ``str`` is uploaded as UTF-8 text; give a :class:`pathlib.Path` (or ``os.PathLike``)
        to upload a file. Streams are read in parts, never whole.

        Raises:
            InvalidRequest: A bad bucket, key or source, before any I/O.
            TransferError: The upload failed; nothing is left stored or half-written.
        """
        check_bucket(bucket)
        check_key(key)
        cfg = config or self.config
        merged = _merge_headers(cfg.headers, headers)
        # Below the retry layer, so it sees every CreateMultipartUpload attempt.
        watch = _StartWatch(self.backend)
        stack = self._build(cfg, scope, watch)
        started = time.monotonic()
        # Bytes that arrive already encoded are not the logical content: no checksum.
        kind = None if encoding_tokens(merged.content_encoding) else content_hash(cfg.checksum)
        digest: Checksum | None = None
        identity: FileIdentity | None = None
        if isinstance(source, str | bytes | bytearray | memoryview):
            # In memory already: one hash, one call, no stream wrappers.
            data = source.encode("utf-8") if isinstance(source, str) else bytes(source)
            if kind is not None:
                digest = Checksum(kind.name, kind.new(data).hexdigest())
                merged = _with_checksum(merged, digest)
            info = _put_watched(stack, watch, bucket, key, data, merged, len(data))
            if progress is not None and data:
                progress(len(data))
            count = len(data)
        else:
            with _open_source(source) as (stream, size, file):
                identity = file.identity if file is not None and file.size is not None else None
                digest = _digest(stream, file, kind)
                if digest is not None:
                    merged = _with_checksum(merged, digest)
                counting = _Counting(stream, progress, source=file, expected=digest)
                info = _put_watched(stack, watch, bucket, key, counting, merged, size)
                count = counting.count
        result = UploadResult(
            bucket=bucket,
            key=key,
            size=count,
            stored_size=info.size if info.size >= 0 else None,
            etag=info.etag,
            content_encoding=info.headers.content_encoding,
            version_id=info.version_id,
            seconds=time.monotonic() - started,
            checksum=digest,
            source=identity,
        )
        log.info(
            "uploaded %d bytes to s3://%s/%s in %.3fs%s",
            result.size,
            bucket,
            key,
            result.seconds,
            f" ({result.content_encoding})" if result.content_encoding else "",
        )
        return result

    def verify(self, result: UploadResult, config: TransferConfig | None = None) -> ObjectInfo:
        """Confirm with a HEAD that the stored object is the one ``result`` describes.

        What the store reports is compared with what was read from the source, not with
        what the upload told the store: the stored size with the bytes read (when nothing
        was compressed), the ETag with the one the commit returned (no other writer
        replaced the object since), and the stored content checksum with the declared one.
        That the declared checksum describes the bytes sent was proven during the upload
        (every pass over a file is checked against it before its last byte is sent).

        Raises:
            CorruptData: The stored object's ETag, size or content checksum differs.
        """
        info = self.stack(config).head(result.bucket, result.key)
        as_read = result.stored_size is None or result.stored_size == result.size
        size_ok = info.size == (result.size if as_read else result.stored_size)
        digest = result.checksum
        sum_ok = digest is None or info.headers.metadata.get(digest.hash.metadata) == (
            digest.hexdigest
        )
        if info.etag != result.etag or not size_ok or not sum_ok:
            raise CorruptData(
                f"the stored object does not match the upload (ETag {info.etag!r} vs "
                f"{result.etag!r}, size {info.size} vs {result.size} read, "
                f"{result.stored_size} sent)",
                bucket=result.bucket,
                key=result.key,
            )
        return info

    def delete_source(
        self,
        result: UploadResult,
        path: str | os.PathLike[str],
        config: TransferConfig | None = None,
    ) -> None:
        """Delete the uploaded file ``path``, once the object is verified and the file unchanged.

        Raises:
            CorruptData: The stored object is not the one uploaded (see :meth:`verify`);
                the file is kept.
            SourceChanged: The file changed after its bytes were read; the stored object
                holds the content as read, and the file is kept.

        .. versionadded:: 0.2.0
        """
        self.verify(result, config)
        file = pathlib.Path(path)
        if result.source is not None:
            try:
                now = FileIdentity.from_stat(file.stat())
            except FileNotFoundError:
                return  # already gone: nothing to keep
            if now != result.source:
                raise SourceChanged(
                    f"{file} changed after it was uploaded (size {result.source.size} -> "
                    f"{now.size}, mtime_ns {result.source.mtime_ns} -> {now.mtime_ns}); "
                    f"s3://{result.bucket}/{result.key} holds the content as it was read, and "
                    "the file was kept",
                    path=str(file),
                    bucket=result.bucket,
                    key=result.key,
                )
        file.unlink()

    # -- downloads ------------------------------------------------------------------------

    def open(self, bucket: str, key: str, *, config: TransferConfig | None = None) -> GetResult:
        """Open an object for reading, decoded unless ``decompress`` is off.

        The content is verified against its stored checksum as it is read; a
        mismatch raises :class:`~s3po.CorruptData` at the end of the body.
        """
        check_bucket(bucket)
        check_key(key)
        cfg = config or self.config
        return verify_body(self.stack(cfg).get(bucket, key), decompress=cfg.decompress)

    def download(
        self,
        bucket: str,
        key: str,
        dest: str | os.PathLike[str] | IO[bytes],
        *,
        config: TransferConfig | None = None,
        progress: Progress | None = None,
    ) -> DownloadResult:
        """Download to a path (written atomically) or a binary stream.

        A path is written to a temporary file beside it and renamed into place only when
        the whole object arrived and decoded, so a failure never leaves half a file.
        """
        started = time.monotonic()
        check_bucket(bucket)
        check_key(key)
        cfg = config or self.config
        path = pathlib.Path(dest) if isinstance(dest, str | os.PathLike) else None
        if path is not None and path.is_dir():
            raise InvalidRequest(f"{path} is a folder; give the file path to write")
        with self.stack(cfg).get(bucket, key) as raw, _writing(path, bucket, key):
            drain = getattr(raw.body, "drain_to", None)
            if path is not None and drain is not None:
                # A large object stored as is: ranges go straight to their file offsets.
                expected = expected_checksum(raw.info, decompress=cfg.decompress)
                size = _write_parallel(drain, path, expected, raw.info, progress)
            else:
                result = verify_body(raw, decompress=cfg.decompress)
                if path is not None:
                    size = _write_atomic(result.body, path, progress)
                else:
                    size = _copy(result.body, dest, progress)  # type: ignore[arg-type]
        where = str(path) if path is not None else None
        out = DownloadResult(
            bucket=bucket,
            key=key,
            size=size,
            info=raw.info,
            path=where,
            seconds=time.monotonic() - started,
        )
        log.info("downloaded s3://%s/%s (%d bytes) in %.3fs", bucket, key, size, out.seconds)
        return out

    def read(self, bucket: str, key: str, *, config: TransferConfig | None = None) -> bytes:
        """Download an object into memory."""
        with self.open(bucket, key, config=config) as result:
            return result.body.readall()

    # -- everything else ------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Return an object's information."""
        check_bucket(bucket)
        check_key(key)
        return self.stack().head(bucket, key)

    def delete(self, bucket: str, key: str) -> None:
        """Delete an object."""
        check_bucket(bucket)
        check_key(key)
        self.stack().delete(bucket, key)

    def list(
        self, bucket: str, prefix: str = "", delimiter: str | None = None
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """List objects and common prefixes."""
        check_bucket(bucket)
        return self.stack().list(bucket, prefix, delimiter)

    def create_bucket(self, bucket: str) -> None:
        """Create a bucket."""
        check_bucket(bucket)
        self.stack().create_bucket(bucket)

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        **kwargs: Any,  # noqa: ANN401
    ) -> ObjectInfo:
        """Copy an object inside the store."""
        for b, k in ((src_bucket, src_key), (bucket, key)):
            check_bucket(b)
            check_key(k)
        return self.stack().copy(src_bucket, src_key, bucket, key, **kwargs)

    def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """List incomplete multipart uploads."""
        check_bucket(bucket)
        return self.stack().list_multipart(bucket, prefix)

    def abort_multipart(self, upload: MultipartUpload) -> None:
        """Abort an incomplete multipart upload."""
        self.stack().abort_multipart(upload.bucket, upload.key, upload.upload_id)

    def close(self) -> None:
        """Close the backend."""
        self.backend.close()


#: Seconds either side of the failed CreateMultipartUpload attempts within which an upload
#: listed for the same key counts as one they created (clock skew, whole-second times).
_START_SKEW = 5.0
#: An initiation time further than this from the local clock (seconds) places nothing.
_NO_CLOCK = 86400.0


class _StartWatch(ForwardingBackend):
    """Notes each CreateMultipartUpload attempt that failed transiently, and when.

    Such an attempt may have created an upload whose reply was lost (S3 names the upload
    only in that reply): :func:`_put_watched` looks for those afterwards.
    """

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.lost: list[tuple[float, float]] = []
        self.started: set[str] = set()

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        began = time.time()
        try:
            upload_id = self.inner.start_multipart(bucket, key, headers=headers)
        except TransientError:
            self.lost.append((began, time.time()))
            raise
        self.started.add(upload_id)
        return upload_id


def _put_watched(
    stack: Backend,
    watch: _StartWatch,
    bucket: str,
    key: str,
    body: UploadBody,
    headers: Headers,
    size: int | None,
) -> ObjectInfo:
    """``stack.put``, then abort the uploads its lost CreateMultipartUpload replies made."""
    try:
        return stack.put(bucket, key, body, headers=headers, size=size)
    finally:
        if watch.lost:
            _abort_lost(stack, watch, bucket, key)


def _abort_lost(stack: Backend, watch: _StartWatch, bucket: str, key: str) -> None:
    """Abort the uploads of ``key`` that this upload's failed start attempts created.

    Candidates are the uploads still open for exactly ``key``: those this upload started
    (its own, if aborting it failed), then those initiated within :data:`_START_SKEW` of a
    failed attempt, nearest first, then those whose initiation time says nothing (missing,
    or more than a day off this machine's clock, as moto reports them), latest listed
    first; at most one of the last two kinds per failed attempt. So an upload another
    writer began for the same key is left alone as far as the server's clock can tell.
    Whatever this misses (a listing that failed, a clock off by more than the margin),
    ``Connection.cleanup`` finds.
    """
    now = time.time()

    def distance(when: float) -> float:
        return min(max(began - when, when - ended, 0.0) for began, ended in watch.lost)

    try:
        ours: list[str] = []
        near: list[tuple[float, str]] = []
        unplaced: list[str] = []
        for upload in stack.list_multipart(bucket, key):
            if upload.key != key:
                continue
            when = upload.initiated.timestamp() if upload.initiated is not None else None
            if upload.upload_id in watch.started:
                ours.append(upload.upload_id)
            elif when is None or abs(when - now) > _NO_CLOCK:
                unplaced.append(upload.upload_id)
            elif distance(when) <= _START_SKEW:
                near.append((distance(when), upload.upload_id))
        near.sort()
        lost = [u for _, u in near] + unplaced[::-1]
        for upload_id in ours + lost[: len(watch.lost)]:
            stack.abort_multipart(bucket, key, upload_id)
            log.info("aborted multipart upload %s of s3://%s/%s", upload_id, bucket, key)
    except S3poError as exc:
        log.warning(
            "could not look for multipart uploads of s3://%s/%s left by a lost "
            "CreateMultipartUpload reply (%s); Connection.cleanup() finds them",
            bucket,
            key,
            exc,
        )


def _digest(stream: IO[bytes], file: _Source | None, kind: ContentHash | None) -> Checksum | None:
    """The content checksum to declare: of the planned bytes of a file, else of the stream."""
    if kind is None:
        return None
    if file is None or file.size is None:
        return content_digest(stream, kind)
    digest = file_digest(file.fd, file.start, file.size, kind, path=file.path)
    # Changed while it was hashed: the checksum may describe no state of the file at all.
    file.identity.check(file.fd, file.path)
    return digest


def _with_checksum(headers: Headers, digest: Checksum) -> Headers:
    metadata = {**headers.metadata, digest.hash.metadata: digest.hexdigest}
    return dataclasses.replace(headers, metadata=metadata)


def _merge_headers(base: Headers, call: Headers | None) -> Headers:
    if call is None:
        return base
    return Headers(
        content_type=call.content_type or base.content_type,
        content_encoding=call.content_encoding or base.content_encoding,
        cache_control=call.cache_control or base.cache_control,
        content_disposition=call.content_disposition or base.content_disposition,
        content_language=call.content_language or base.content_language,
        metadata={**base.metadata, **call.metadata},
        extra={**base.extra, **call.extra},
    )


@contextlib.contextmanager
def _open_source(source: Source) -> Iterator[tuple[IO[bytes], int | None, _Source | None]]:
    """The stream to read, its size if known, and the file behind it if it is a regular one."""
    import io  # noqa: PLC0415

    if isinstance(source, str):
        data = source.encode("utf-8")
        yield io.BytesIO(data), len(data), None
    elif isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(source), len(source), None
    elif isinstance(source, os.PathLike):
        path = pathlib.Path(source)
        with _open_file(path) as (stream, file):
            yield stream, file.size, file
    elif hasattr(source, "read"):
        if isinstance(source, io.TextIOBase):
            raise InvalidRequest(
                "the upload stream is opened in text mode; open it with 'rb' or pass bytes"
            )
        yield source, None, _stream_file(source)
    else:
        raise InvalidRequest(
            f"cannot upload a {type(source).__name__}; pass bytes, str, a path or a binary file"
        )


@contextlib.contextmanager
def _open_file(path: pathlib.Path) -> Iterator[tuple[IO[bytes], _Source]]:
    """Open a regular file without blocking on a FIFO, and take its identity.

    Raises:
        InvalidRequest: ``path`` is a folder, missing, or not a regular file (a FIFO, a
            device), or a file that reads more than its size says (``/proc``, ``/sys``).
        SourceChanged: The file grew between being measured and being probed.
    """
    if path.is_dir():
        raise InvalidRequest(f"{path} is a folder; upload a file, or use a batch per file")
    try:
        # O_NONBLOCK: opening a FIFO for reading would wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InvalidRequest(f"{path} does not exist") from None
    try:
        st = _regular(fd, path)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as stream:
        yield stream, _Source(fd, str(path), 0, st.st_size, FileIdentity.from_stat(st))


def _regular(fd: int, path: pathlib.Path) -> os.stat_result:
    """The file's status, if it is a regular file that holds what its size says."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise InvalidRequest(
            f"{path} is not a regular file (a FIFO, socket or device has no fixed size "
            "and may never end); to upload what it reads, open it and pass the stream "
            "(upload_fileobj)"
        )
    os.set_blocking(fd, True)
    if os.pread(fd, 1, st.st_size):
        FileIdentity.from_stat(st).check(fd, str(path))  # being appended to: SourceChanged
        raise InvalidRequest(
            f"{path} says it holds {st.st_size} bytes but reads more (a /proc or /sys "
            "file?); to upload what it reads, open it and pass the stream (upload_fileobj)"
        )
    return st


def _stream_file(stream: Any) -> _Source | None:  # noqa: ANN401 - any binary stream
    """The regular file behind a stream given as is, if there is one (checked, never refused)."""
    try:
        fd = stream.fileno()
        start = stream.tell()
        st = os.fstat(fd)
    except (AttributeError, OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    name = getattr(stream, "name", None)
    path = name if isinstance(name, str) else f"file descriptor {fd}"
    return _Source(fd, path, start, None, FileIdentity.from_stat(st))


def _copy(body: Body, dest: IO[bytes], progress: Progress | None) -> int:
    total = 0
    while chunk := body.read(_COPY_CHUNK):
        dest.write(chunk)
        total += len(chunk)
        if progress is not None:
            progress(len(chunk))
    return total


@contextlib.contextmanager
def _writing(path: pathlib.Path | None, bucket: str, key: str) -> Iterator[None]:
    """Turn a failure to write the local file (ENOSPC, EACCES, EIO) into a LocalFileError.

    Backend errors are OSErrors too (NotFound, AccessDenied) and pass through unchanged.
    """
    try:
        yield
    except OSError as exc:
        if path is None or isinstance(exc, S3poError):
            raise
        raise LocalFileError(
            f"downloading s3://{bucket}/{key} to {path} failed writing the local file "
            f"({exc.strerror or exc}); the temporary file was removed and {path} is as it "
            "was; free some space or fix the folder, then download again",
            path=str(path),
            errno=exc.errno,
            bucket=bucket,
            key=key,
        ) from exc


@contextlib.contextmanager
def _replacing(path: pathlib.Path) -> Iterator[int]:
    """An open temporary file beside ``path``, renamed over it if the block succeeds.

    On any failure the temporary file is removed, so ``path`` is never left half-written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".s3po-part", dir=path.parent)
    try:
        try:
            yield fd
        finally:
            os.close(fd)
        pathlib.Path(tmp).replace(path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


def _write_parallel(
    drain: Callable[..., int],
    path: pathlib.Path,
    expected: Checksum | None,
    info: ObjectInfo,
    progress: Progress | None,
) -> int:
    """Fill a temporary file with ``drain``, check its checksum, and rename it into place."""
    with _replacing(path) as fd:
        hasher = FileHasher(fd, info.size, expected.hash) if expected is not None else None
        try:
            size: int = drain(fd, progress, hasher.written if hasher is not None else None)
            if hasher is not None and expected is not None:
                hasher.check(expected, bucket=info.bucket, key=info.key)
        finally:
            if hasher is not None:
                hasher.stop()
    return size


def _write_atomic(body: Body, path: pathlib.Path, progress: Progress | None) -> int:
    """Copy ``body`` into a temporary file beside ``path``, then rename it into place."""
    size = 0
    with _replacing(path) as fd:
        while n := body.copy_into(fd, size, _COPY_CHUNK):
            size += n
            if progress is not None:
                progress(n)
    return size
