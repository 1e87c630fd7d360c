"""Transfer: builds the stack, in one function, and moves sources and sinks through it.

The stack, outermost first::

    user middleware ... -> Integrity -> CodecLayer -> Chunking -> Retry -> backend

:class:`Transfer` builds a stack for each call from its :class:`~s3po.TransferConfig` (with
the call's overrides), so per-call options such as ``compress=`` or ``retries=`` are plain
configuration, and the backend below is shared by every call and every thread. It knows no
layer's rules: it turns what the caller passed into a typed source or sink, hands it to the
stack, and reports what happened.

.. versionadded:: 0.1.0

.. versionchanged:: 0.4.0
   A package; integrity is a layer of the stack; parts and ranges share the scope's pool.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

from s3po._scope import Scope
from s3po._types import (
    Backend,
    CommonPrefix,
    FileIdentity,
    GetResult,
    Headers,
    MultipartUpload,
    ObjectInfo,
)
from s3po.backend.models import WriteCondition
from s3po.backend.protocol import ForwardingBackend, conditioned
from s3po.backend.sinks import DownloadSink, FileSink, StreamSink
from s3po.backend.sources import FileSource, Progress
from s3po.config import TransferConfig
from s3po.errors import CorruptData, NotSupported, SourceChanged
from s3po.middleware import Chunking, CodecLayer, Integrity, Retry
from s3po.mtimes import file_metadata, object_mtime
from s3po.resume import DownloadJournal, UploadJournal, open_download, store_name
from s3po.transfer.results import DownloadResult, Source, UploadResult
from s3po.transfer.sources import open_source
from s3po.validation import as_path, check_bucket, check_download_path, check_key

if TYPE_CHECKING:
    from s3po.middleware.retry import RetryEvent
    from s3po.plugins import CodecRegistry

__all__ = ["Transfer"]

log = logging.getLogger("s3po")

#: Transfers a Connection runs at once outside a batch (its background calls), which the
#: shared pool is sized for.
_CONNECTION_WORKERS = 8


class Transfer:
    """Move objects through a configured middleware stack over one backend.

    Args:
        backend: The storage backend (shared; closed by :meth:`close`).
        codecs: The codec registry for compress and decompress.
        config: Defaults for every call.
        sleep: The retry layer's sleep (inject a fake in tests).
        on_retry: Called before each retry with a :class:`~s3po.middleware.retry.RetryEvent`.

    Attributes:
        scope: The scope of calls made outside a batch: their cancel switch and the
            thread pool their parts and ranges share (shut down by :meth:`close`).

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
        self.scope = Scope(workers=_CONNECTION_WORKERS)

    def stack(self, config: TransferConfig | None = None, scope: Scope | None = None) -> Backend:
        """Build the middleware stack for ``config`` (default: the Transfer's own).

        ``scope`` shares a batch's in-flight byte budget, cancel switch and pool (default:
        the Transfer's own).
        """
        return self._build(config or self.config, scope, self.backend)

    def _build(self, cfg: TransferConfig, scope: Scope | None, base: Backend) -> Backend:
        """The one place the stack is put together, innermost first."""
        scope = scope or self.scope
        layer: Backend = Retry(
            base, cfg.retry, sleep=self.sleep, on_retry=self.on_retry, pacer=scope.pacer
        )
        layer = Chunking(layer, cfg.chunk, scope=scope)
        layer = CodecLayer(
            layer,
            self.codecs,
            compress=cfg.compress,
            level=cfg.compress_level,
            decompress=cfg.decompress,
            max_decompressed_size=cfg.max_decompressed_size,
            max_expansion_ratio=cfg.max_expansion_ratio,
            chunk=cfg.chunk,
            scope=scope,
        )
        layer = Integrity(layer, checksum=cfg.checksum, decompress=cfg.decompress)
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
        checked: bool = False,
        condition: WriteCondition | None = None,
        keep_mtime: bool = False,
    ) -> UploadResult:
        """Upload ``source`` to ``bucket``/``key``.

        ``str`` is uploaded as UTF-8 text; give a :class:`pathlib.Path` (or ``os.PathLike``)
        to upload a file. Streams are read in parts, never whole.

        ``checked=True`` says a front end already checked ``bucket`` and ``key`` (each
        argument is checked once, where the call enters s3po).

        ``condition`` (If-None-Match / If-Match) goes down the stack to the request that
        commits: the PUT, or CompleteMultipartUpload.

        ``keep_mtime`` records a file's size and mtime in the object's metadata
        (:func:`s3po.mtimes.file_metadata`), from the ``fstat`` its upload began with.

        Raises:
            InvalidRequest: A bad bucket, key or source, before any I/O.
            NotSupported: ``condition`` is given and the backend, or a user middleware
                whose ``put`` takes no ``condition``, cannot carry it; before any I/O.
            PreconditionFailed: ``condition`` does not hold; nothing was changed.
            TransferError: The upload failed; nothing is left stored or half-written.

        .. versionchanged:: 0.4.0
           ``condition``.
        """
        if not checked:
            _check(bucket, key)
        cfg = config or self.config
        merged = _merge_headers(cfg.headers, headers)
        stack = self._build(cfg, scope, self.backend)
        if condition is not None:
            _check_carried(stack, condition)
        started = time.monotonic()
        with open_source(source, progress) as src:
            if keep_mtime and isinstance(src, FileSource):
                merged = dataclasses.replace(
                    merged, metadata={**merged.metadata, **file_metadata(src.identity)}
                )
            if cfg.resume and isinstance(src, FileSource):
                src.resume = UploadJournal(
                    store_name(self.backend), bucket, key, src.path, src.identity
                )
            info = stack.put(
                bucket, key, src, headers=merged, size=src.size, **conditioned(condition)
            )
        result = UploadResult(
            bucket=bucket,
            key=key,
            size=src.count,
            stored_size=info.size if info.size >= 0 else None,
            etag=info.etag,
            content_encoding=info.headers.content_encoding,
            version_id=info.version_id,
            seconds=time.monotonic() - started,
            checksum=src.checksum,
            source=src.identity if isinstance(src, FileSource) else None,
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
        file = as_path(path)
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

    def open(
        self,
        bucket: str,
        key: str,
        *,
        config: TransferConfig | None = None,
        scope: Scope | None = None,
        checked: bool = False,
    ) -> GetResult:
        """Open an object for reading, decoded unless ``decompress`` is off.

        The content is verified against its stored checksum as it is read; a
        mismatch raises :class:`~s3po.CorruptData` at the end of the body. ``checked=True``:
        as for :meth:`upload`.
        """
        if not checked:
            _check(bucket, key)
        return self.stack(config, scope).get(bucket, key)

    def download(
        self,
        bucket: str,
        key: str,
        dest: str | os.PathLike[str] | IO[bytes],
        *,
        config: TransferConfig | None = None,
        progress: Progress | None = None,
        scope: Scope | None = None,
        checked: bool = False,
        keep_mtime: bool = False,
    ) -> DownloadResult:
        """Download to a path (written atomically) or a binary stream.

        A path is written to a temporary file beside it and renamed into place only when
        the whole object arrived and decoded, so a failure never leaves half a file.
        ``keep_mtime`` gives that file the object's mtime (:func:`s3po.mtimes.object_mtime`)
        before the rename.

        ``checked=True`` says a front end already checked ``bucket``, ``key`` and ``dest``.

        Raises:
            Cancelled: The scope was cancelled; a file's temporary file was removed.
        """
        started = time.monotonic()
        path = as_path(dest) if isinstance(dest, str | os.PathLike) else None
        if not checked:
            _check(bucket, key)
            if path is not None:
                check_download_path(path)
        cfg = config or self.config
        stack = self.stack(cfg, scope)
        journal = None
        with contextlib.ExitStack() as held:
            if cfg.resume and path is not None:
                journal = DownloadJournal(store_name(self.backend), bucket, key, path)
                # One process at a time continues a journaled download.
                held.enter_context(journal.lock())
                raw, ranges = open_download(stack, bucket, key, journal, decompress=cfg.decompress)
            else:
                raw, ranges = stack.get(bucket, key), []
            with raw:
                sink: DownloadSink
                if path is not None:
                    with FileSink(
                        path,
                        bucket=bucket,
                        key=key,
                        progress=progress,
                        resume=journal,
                        ranges=ranges,
                        mtime=object_mtime(raw.info) if keep_mtime else None,
                    ) as sink:
                        size = raw.body.drain(sink)
                else:
                    sink = StreamSink(dest, progress)  # type: ignore[arg-type]
                    size = raw.body.drain(sink)
        out = DownloadResult(
            bucket=bucket,
            key=key,
            size=size,
            info=raw.info,
            path=str(path) if path is not None else None,
            seconds=time.monotonic() - started,
        )
        log.info("downloaded s3://%s/%s (%d bytes) in %.3fs", bucket, key, size, out.seconds)
        return out

    def read(
        self,
        bucket: str,
        key: str,
        *,
        config: TransferConfig | None = None,
        scope: Scope | None = None,
        checked: bool = False,
    ) -> bytes:
        """Download an object into memory (``checked``: as for :meth:`upload`)."""
        with self.open(bucket, key, config=config, scope=scope, checked=checked) as result:
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
        """Shut the shared pool down and close the backend."""
        self.scope.close()
        self.backend.close()


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


def _check_carried(stack: Backend, condition: WriteCondition) -> None:
    """Refuse ``condition`` if a user middleware's ``put`` would drop it on the way down.

    A middleware written before conditions existed overrides ``put`` without the
    ``condition`` keyword; the write would then reach the store unconditionally.
    """
    layer: object = stack
    while isinstance(layer, ForwardingBackend) and not isinstance(layer, Integrity):
        put = type(layer).put
        if put is not ForwardingBackend.put:
            params = inspect.signature(put).parameters.values()
            if not any(p.name == "condition" or p.kind is p.VAR_KEYWORD for p in params):
                raise NotSupported(
                    f"the middleware {type(layer).__name__} overrides put() without the "
                    f"condition= keyword, so {condition.describe()} would be dropped; add "
                    "`condition: WriteCondition | None = None` to its put() and pass it on"
                )
        layer = layer.inner


def _check(bucket: str, key: str) -> None:
    check_bucket(bucket)
    check_key(key)
