"""The download calls: check the arguments once, then hand the sink to Transfer.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Literal, TypeVar, overload

from s3po.client.base import CallBase, M, Owner
from s3po.client.options import (
    Direct,
    DownloadFileOptions,
    DownloadOptions,
    DownloadStringOptions,
    DownloadToOptions,
    Handled,
    check_options,
    seed_keywords,
)
from s3po.errors import UndecodableText, UnknownCharset
from s3po.validation import as_path, check_bucket, check_download_path, check_key

if TYPE_CHECKING:
    from typing import Unpack

    from s3po._scope import Scope
    from s3po.client.background import Handle
    from s3po.config import TransferConfig
    from s3po.transfer import DownloadResult, Progress

__all__ = ["DownloadCalls"]

T = TypeVar("T")


def _charset(content_type: str | None) -> str:
    if content_type:
        for param in content_type.split(";")[1:]:
            name, _, value = param.strip().partition("=")
            if name.lower() == "charset" and value:
                return value.strip('"')
    return "utf-8"


def _decode(data: bytes, charset: str, bucket: str, key: str) -> str:
    """``data`` as text in ``charset``, or UndecodableText naming the object."""
    where = f"s3://{bucket}/{key}"
    try:
        return data.decode(charset)
    except LookupError as exc:
        why = f"its Content-Type names the charset {charset!r}, which Python does not know"
        raise UndecodableText(
            f"download_string of {where}: {why}; pass encoding=, or use download_bytes for "
            "the bytes",
            charset=charset,
            bucket=bucket,
            key=key,
        ) from exc
    except UnicodeDecodeError as exc:
        raise UndecodableText(
            f"download_string of {where}: the content is not {charset} text ({exc.reason} at "
            f"byte {exc.start}); pass the right encoding=, or use download_bytes for the bytes",
            charset=charset,
            bucket=bucket,
            key=key,
        ) from exc


def _check_encoding(encoding: str | None) -> None:
    """Refuse an ``encoding=`` Python does not know, before any transfer."""
    if encoding is None:
        return
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UnknownCharset(
            f"{encoding!r} is not a text encoding Python knows (see the codecs module's "
            "standard encodings); use download_bytes for the bytes"
        ) from None


class DownloadCalls(CallBase[M]):
    """``download_bytes``, ``download_string``, ``download_file``, ``download_fileobj``."""

    # -- downloads ------------------------------------------------------------------------

    @overload
    def download_bytes(
        self: DownloadCalls[Handled],
        bucket: str,
        key: str,
        *,
        background: bool = ...,
        **options: Unpack[DownloadOptions[bytes]],
    ) -> Handle[bytes]: ...
    @overload
    def download_bytes(
        self: DownloadCalls[Direct],
        bucket: str,
        key: str,
        *,
        background: Literal[True],
        **options: Unpack[DownloadOptions[bytes]],
    ) -> Handle[bytes]: ...
    @overload
    def download_bytes(
        self: DownloadCalls[Direct],
        bucket: str,
        key: str,
        *,
        background: Literal[False] = ...,
        **options: Unpack[DownloadOptions[bytes]],
    ) -> bytes: ...
    @overload
    def download_bytes(
        self: DownloadCalls[Direct],
        bucket: str,
        key: str,
        *,
        background: bool,
        **options: Unpack[DownloadOptions[bytes]],
    ) -> bytes | Handle[bytes]: ...
    @seed_keywords
    def download_bytes(
        self,
        bucket: str,
        key: str,
        *,
        decompress: bool = True,
        retries: int | None = None,
        callback: Callable[[bytes], object] | None = None,
        background: bool = False,
    ) -> bytes | Handle[bytes]:
        """Download an object's content as bytes, decompressed by its Content-Encoding.

        ``decompress=False`` returns the stored bytes exactly.

        .. versionadded:: 0.1.0
        """

        def run(conn: Owner, config: TransferConfig, scope: Scope | None) -> bytes:
            return conn.transfer.read(bucket, key, config=config, scope=scope, checked=True)

        return self._download(
            "download_bytes", bucket, key, run, decompress, retries, callback, background
        )

    @overload
    def download_string(
        self: DownloadCalls[Handled],
        bucket: str,
        key: str,
        *,
        background: bool = ...,
        **options: Unpack[DownloadStringOptions],
    ) -> Handle[str]: ...
    @overload
    def download_string(
        self: DownloadCalls[Direct],
        bucket: str,
        key: str,
        *,
        background: Literal[True],
        **options: Unpack[DownloadStringOptions],
    ) -> Handle[str]: ...
    @overload
    def download_string(
        self: DownloadCalls[Direct],
        bucket: str,
        key: str,
        *,
        background: Literal[False] = ...,
        **options: Unpack[DownloadStringOptions],
    ) -> str: ...
    @overload
    def download_string(
        self: DownloadCalls[Direct],
        bucket: str,
        key: str,
        *,
        background: bool,
        **options: Unpack[DownloadStringOptions],
    ) -> str | Handle[str]: ...
    @seed_keywords
    def download_string(
        self,
        bucket: str,
        key: str,
        *,
        encoding: str | None = None,
        decompress: bool = True,
        retries: int | None = None,
        callback: Callable[[str], object] | None = None,
        background: bool = False,
    ) -> str | Handle[str]:
        """Download an object's content as text, decompressed by its Content-Encoding.

        The text is decoded with ``encoding``, else the charset of the object's Content-Type,
        else UTF-8.

        Raises:
            UnknownCharset: ``encoding`` names no codec Python knows (before any I/O; an
                :class:`~s3po.InvalidRequest`).
            UndecodableText: The bytes are not text in that charset, or the object's
                Content-Type names an unknown charset (a :class:`~s3po.CorruptData`);
                ``download_bytes`` returns them as they are.

        .. versionadded:: 0.1.0
        """
        _check_encoding(encoding)

        def run(conn: Owner, config: TransferConfig, scope: Scope | None) -> str:
            with conn.transfer.open(
                bucket, key, config=config, scope=scope, checked=True
            ) as result:
                data = result.body.readall()
                charset = encoding or _charset(result.info.headers.content_type)
            return _decode(data, charset, bucket, key)

        return self._download(
            "download_string", bucket, key, run, decompress, retries, callback, background
        )

    @overload
    def download_file(
        self: DownloadCalls[Handled],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: bool = ...,
        **options: Unpack[DownloadFileOptions],
    ) -> Handle[DownloadResult]: ...
    @overload
    def download_file(
        self: DownloadCalls[Direct],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: Literal[True],
        **options: Unpack[DownloadFileOptions],
    ) -> Handle[DownloadResult]: ...
    @overload
    def download_file(
        self: DownloadCalls[Direct],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: Literal[False] = ...,
        **options: Unpack[DownloadFileOptions],
    ) -> DownloadResult: ...
    @overload
    def download_file(
        self: DownloadCalls[Direct],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: bool,
        **options: Unpack[DownloadFileOptions],
    ) -> DownloadResult | Handle[DownloadResult]: ...
    @seed_keywords
    def download_file(
        self,
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        decompress: bool = True,
        retries: int | None = None,
        callback: Callable[[DownloadResult], object] | None = None,
        background: bool = False,
        progress: Progress | None = None,
        resume: bool | None = None,
        keep_mtime: bool = False,
    ) -> DownloadResult | Handle[DownloadResult]:
        """Download to a file, written atomically (a failure leaves no partial file).

        A new file gets the mode ``0666 & ~umask``; a file it replaces keeps its mode, as
        with ``cp`` (see :class:`~s3po.backend.sinks.FileSink`).

        With ``resume=True`` (default: the Connection's ``TransferConfig.resume``), a
        ranged download that is interrupted keeps its partial file beside ``path`` and a
        journal, and the same download run again fetches only the ranges missing, pinned
        to the object's ETag (If-Match); an object that changed meanwhile is downloaded
        afresh. See :mod:`s3po.resume`.

        With ``keep_mtime=True`` the file gets the object's modification time: the one
        ``upload_file(..., keep_mtime=True)`` recorded, else the object's Last-Modified
        (:mod:`s3po.mtimes`).

        .. versionadded:: 0.1.0

        .. versionchanged:: 0.4.0
           ``resume`` and ``keep_mtime``; the mode follows the umask, or the replaced
           file (it was always 0600).
        """
        target = as_path(path)
        check_download_path(target)
        check_options("download_file", resume=resume)

        def run(conn: Owner, config: TransferConfig, scope: Scope | None) -> DownloadResult:
            if resume is not None and resume != config.resume:
                config = config.evolve(resume=resume)
            return conn.transfer.download(
                bucket,
                key,
                target,
                config=config,
                progress=progress,
                scope=scope,
                checked=True,
                keep_mtime=keep_mtime,
            )

        return self._download(
            "download_file", bucket, key, run, decompress, retries, callback, background
        )

    @overload
    def download_fileobj(
        self: DownloadCalls[Handled],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: bool = ...,
        **options: Unpack[DownloadToOptions],
    ) -> Handle[DownloadResult]: ...
    @overload
    def download_fileobj(
        self: DownloadCalls[Direct],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: Literal[True],
        **options: Unpack[DownloadToOptions],
    ) -> Handle[DownloadResult]: ...
    @overload
    def download_fileobj(
        self: DownloadCalls[Direct],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: Literal[False] = ...,
        **options: Unpack[DownloadToOptions],
    ) -> DownloadResult: ...
    @overload
    def download_fileobj(
        self: DownloadCalls[Direct],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: bool,
        **options: Unpack[DownloadToOptions],
    ) -> DownloadResult | Handle[DownloadResult]: ...
    @seed_keywords
    def download_fileobj(
        self,
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        decompress: bool = True,
        retries: int | None = None,
        callback: Callable[[DownloadResult], object] | None = None,
        background: bool = False,
        progress: Progress | None = None,
    ) -> DownloadResult | Handle[DownloadResult]:
        """Download into a binary stream.

        .. versionadded:: 0.1.0
        """

        def run(conn: Owner, config: TransferConfig, scope: Scope | None) -> DownloadResult:
            return conn.transfer.download(
                bucket, key, fileobj, config=config, progress=progress, scope=scope, checked=True
            )

        return self._download(
            "download_fileobj", bucket, key, run, decompress, retries, callback, background
        )

    def _download(
        self,
        op: str,
        bucket: str,
        key: str,
        run: Callable[[Owner, TransferConfig, Scope | None], T],
        decompress: bool,
        retries: int | None,
        callback: Callable[[T], object] | None,
        background: bool,
    ) -> T | Handle[T]:
        """Check the arguments, then run ``run`` now, in the background, or in the batch."""
        check_options(op, retries=retries, decompress=decompress)
        check_bucket(bucket)
        check_key(key)
        conn = self._conn
        config = conn.config_for(retries=retries, decompress=decompress)
        scope = self._scope
        return self._dispatch(
            op,
            bucket,
            key,
            lambda: run(conn, config, scope),
            background=background,
            callback=callback if callback is not None else conn.defaults.callback,
        )

    downloadString = download_string  # noqa: N815
    downloadBytes = download_bytes  # noqa: N815
    downloadFileobj = download_fileobj  # noqa: N815
