"""The original s3po's calls that take other arguments than today's: thin front ends over them.

- ``upload(bucket, key, data_or_stream)`` and ``download(bucket, key[, stream])``, the
  names of 0.3.1 to 0.6.1: :meth:`~LegacyCalls.upload` picks ``upload_string`` or
  ``upload_fileobj`` by what it is given, :meth:`~LegacyCalls.download` returns the text or
  writes into the stream (text streams included, as the original's ``StringIO``).
- ``downloadFile(bucket, key, filename=..., retries=...)``, the deploy-era form: the
  filename by keyword, and without one a fresh temporary file; it returns the path.

Each checks its arguments and hands the work to the same calls as every other spelling.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import io
import os
import pathlib
import tempfile
from typing import IO, TYPE_CHECKING, Any, Literal, overload

from s3po.client.base import M, Owner
from s3po.client.downloads import DownloadCalls, _charset, _decode
from s3po.client.options import (
    Direct,
    DownloadPathOptions,
    DownloadStringOptions,
    DownloadToOptions,
    Handled,
    UploadOptions,
    check_options,
    refuse_unknown,
    take_async,
)
from s3po.client.uploads import UploadCalls
from s3po.errors import InvalidRequest
from s3po.transfer import Transfer

if TYPE_CHECKING:
    from typing import Unpack

    from s3po._scope import Scope
    from s3po.client.background import Handle
    from s3po.client.connection import Connection
    from s3po.config import TransferConfig
    from s3po.transfer import DownloadResult, Progress, UploadResult

__all__ = ["LegacyCalls", "Mock"]

_TEXT = (str, bytes, bytearray, memoryview)
_TO_KEYS = DownloadToOptions.__optional_keys__


class LegacyCalls(UploadCalls[M], DownloadCalls[M]):
    """``upload``, ``download`` and ``downloadFile``: the original s3po's signatures."""

    @overload
    def upload(
        self: LegacyCalls[Handled],
        bucket: str,
        key: str,
        data: str | bytes | IO[Any],
        *,
        background: bool = ...,
        **options: Unpack[UploadOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload(
        self: LegacyCalls[Direct],
        bucket: str,
        key: str,
        data: str | bytes | IO[Any],
        *,
        background: Literal[True],
        **options: Unpack[UploadOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload(
        self: LegacyCalls[Direct],
        bucket: str,
        key: str,
        data: str | bytes | IO[Any],
        *,
        background: Literal[False] = ...,
        **options: Unpack[UploadOptions],
    ) -> UploadResult: ...
    def upload(
        self,
        bucket: str,
        key: str,
        data: str | bytes | IO[Any],
        *,
        background: bool | None = None,
        **options: Unpack[UploadOptions],
    ) -> UploadResult | Handle[UploadResult]:
        """Upload text, bytes, or a stream: the original's ``upload`` (0.3.1 to 0.6.1).

        Text and bytes go through :meth:`upload_string`, a binary stream through
        :meth:`upload_fileobj`. A text stream (``io.StringIO``, a file opened without
        ``"b"``) is read whole and stored as UTF-8; open files with ``"rb"`` to stream them.
        The options are those of :meth:`upload_string` (pass ``headers=`` by keyword).

        .. versionadded:: 0.4.0
        """
        if isinstance(data, io.TextIOBase):
            data = data.read()
        where: dict[str, Any] = {} if background is None else {"background": background}
        handle: Any
        if isinstance(data, _TEXT):
            handle = self.upload_string(bucket, key, data, **where, **options)
        else:
            handle = self.upload_fileobj(bucket, key, data, **where, **options)
        self._keep(handle)
        return handle  # type: ignore[no-any-return]

    @overload
    def download(
        self: LegacyCalls[Handled],
        bucket: str,
        key: str,
        *,
        background: bool = ...,
        **options: Unpack[DownloadStringOptions],
    ) -> Handle[str]: ...
    @overload
    def download(
        self: LegacyCalls[Handled],
        bucket: str,
        key: str,
        fileobj: IO[Any],
        *,
        background: bool = ...,
        **options: Unpack[DownloadToOptions],
    ) -> Handle[DownloadResult]: ...
    @overload
    def download(
        self: LegacyCalls[Direct],
        bucket: str,
        key: str,
        *,
        background: Literal[True],
        **options: Unpack[DownloadStringOptions],
    ) -> Handle[str]: ...
    @overload
    def download(
        self: LegacyCalls[Direct],
        bucket: str,
        key: str,
        *,
        background: Literal[False] = ...,
        **options: Unpack[DownloadStringOptions],
    ) -> str: ...
    @overload
    def download(
        self: LegacyCalls[Direct],
        bucket: str,
        key: str,
        fileobj: IO[Any],
        *,
        background: Literal[True],
        **options: Unpack[DownloadToOptions],
    ) -> Handle[DownloadResult]: ...
    @overload
    def download(
        self: LegacyCalls[Direct],
        bucket: str,
        key: str,
        fileobj: IO[Any],
        *,
        background: Literal[False] = ...,
        **options: Unpack[DownloadToOptions],
    ) -> DownloadResult: ...
    def download(
        self,
        bucket: str,
        key: str,
        fileobj: IO[Any] | None = None,
        *,
        background: bool = False,
        **options: Any,
    ) -> str | DownloadResult | Handle[str] | Handle[DownloadResult]:
        """Return the text, or write into ``fileobj``: the original's ``download``.

        Without a stream it is :meth:`download_string`. A binary stream is filled by
        :meth:`download_fileobj`; a text stream (``io.StringIO``, a file opened with
        ``"w"``) gets the text, decoded by the object's charset (else UTF-8).

        .. versionadded:: 0.4.0
        """
        handle: Any
        if fileobj is None:
            handle = self.download_string(bucket, key, background=background, **options)
        elif isinstance(fileobj, io.TextIOBase):
            text_stream = fileobj

            def run(conn: Owner, config: TransferConfig, scope: Scope | None) -> DownloadResult:
                buffer = io.BytesIO()
                result = conn.transfer.download(
                    bucket,
                    key,
                    buffer,
                    config=config,
                    progress=options.get("progress"),
                    scope=scope,
                    checked=True,
                )
                charset = _charset(result.info.headers.content_type)
                text_stream.write(_decode(buffer.getvalue(), charset, bucket, key))
                return result

            if "async" in options:
                background = take_async(options)
            check_options("download", **options)
            refuse_unknown("download", options.keys() - _TO_KEYS, sorted(_TO_KEYS))
            handle = self._download(
                "download",
                bucket,
                key,
                run,
                options.get("decompress", True),
                options.get("retries"),
                options.get("callback"),
                background,
            )
        else:
            handle = self.download_fileobj(bucket, key, fileobj, background=background, **options)
        self._keep(handle)
        return handle  # type: ignore[no-any-return]

    @overload
    def downloadFile(
        self: LegacyCalls[Handled],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: bool = ...,
        **options: Unpack[DownloadToOptions],
    ) -> Handle[DownloadResult]: ...
    @overload
    def downloadFile(
        self: LegacyCalls[Handled],
        bucket: str,
        key: str,
        *,
        filename: str | os.PathLike[str] | None = ...,
        tempdir: str | os.PathLike[str] | None = ...,
        background: bool = ...,
        **options: Unpack[DownloadPathOptions],
    ) -> Handle[str]: ...
    @overload
    def downloadFile(
        self: LegacyCalls[Direct],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: Literal[True],
        **options: Unpack[DownloadToOptions],
    ) -> Handle[DownloadResult]: ...
    @overload
    def downloadFile(
        self: LegacyCalls[Direct],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: Literal[False] = ...,
        **options: Unpack[DownloadToOptions],
    ) -> DownloadResult: ...
    @overload
    def downloadFile(
        self: LegacyCalls[Direct],
        bucket: str,
        key: str,
        *,
        filename: str | os.PathLike[str] | None = ...,
        tempdir: str | os.PathLike[str] | None = ...,
        background: Literal[True],
        **options: Unpack[DownloadPathOptions],
    ) -> Handle[str]: ...
    @overload
    def downloadFile(
        self: LegacyCalls[Direct],
        bucket: str,
        key: str,
        *,
        filename: str | os.PathLike[str] | None = ...,
        tempdir: str | os.PathLike[str] | None = ...,
        background: Literal[False] = ...,
        **options: Unpack[DownloadPathOptions],
    ) -> str: ...
    def downloadFile(
        self,
        bucket: str,
        key: str,
        path: str | os.PathLike[str] | None = None,
        *,
        filename: str | os.PathLike[str] | None = None,
        tempdir: str | os.PathLike[str] | None = None,
        background: bool = False,
        **options: Any,
    ) -> DownloadResult | str | Handle[DownloadResult] | Handle[str]:
        """:meth:`download_file`, or the original's keyword form, which returns the path.

        With ``path`` it is :meth:`download_file`. The deploy-era form names the file
        with ``filename=`` (its folders are made if missing); without one, the object is
        downloaded to a new temporary file in ``tempdir`` (default: the Connection's
        ``tempdir=``, else the system's temporary folder), which is yours to remove.
        Either way the file is written atomically and the call returns its path; a failed
        download leaves no file behind.

        .. versionadded:: 0.1.0
        .. versionchanged:: 0.4.0
           ``filename=``, ``tempdir=``, and no file name at all, as the original took.
        """
        if isinstance(path, int):  # the 2012 signature: downloadFile(bucket, key, retries)
            raise InvalidRequest(
                f"downloadFile's third argument is the path, not retries ({path!r}); "
                f"pass retries={path} by keyword"
            )
        if path is not None:
            if filename is not None or tempdir is not None:
                raise InvalidRequest("downloadFile takes a path or filename=, not both")
            return self.download_file(bucket, key, path, background=background, **options)
        if "async" in options:
            background = take_async(options)
        check_options("downloadFile", **options)
        keywords = sorted({*_TO_KEYS, "filename", "tempdir", "background"})
        refuse_unknown("downloadFile", options.keys() - _TO_KEYS, keywords)
        folder = tempdir if tempdir is not None else self._conn.defaults.tempdir
        progress: Progress | None = options.get("progress")

        def run(conn: Owner, config: TransferConfig, scope: Scope | None) -> str:
            def fetch(target: str | pathlib.Path) -> None:
                conn.transfer.download(
                    bucket, key, target, config=config, progress=progress, scope=scope, checked=True
                )

            if filename is not None:
                target = pathlib.Path(filename)
                target.parent.mkdir(parents=True, exist_ok=True)
                fetch(target)
                return str(target)
            fd, temp = tempfile.mkstemp(prefix="s3po-", dir=folder)
            os.close(fd)
            try:
                fetch(temp)
            except BaseException:
                pathlib.Path(temp).unlink(missing_ok=True)
                raise
            return temp

        handle: Any = self._download(
            "downloadFile",
            bucket,
            key,
            run,
            options.get("decompress", True),
            options.get("retries"),
            options.get("callback"),
            background,
        )
        return handle  # type: ignore[no-any-return]


class Mock:
    """The original s3po's ``conn.mock()``: the connection talks to a fresh memory store.

    Use it as a context manager (``with conn.mock():``), or call :meth:`start` and
    :meth:`stop` (in a test's ``setUp`` and ``tearDown``). While it runs, every call of
    the connection (and of batches started from it) goes to an empty ``memory`` backend
    with the connection's configuration; :meth:`stop` puts the real backend back, and the
    objects written meanwhile are gone.

    .. versionadded:: 0.4.0
    """

    def __init__(self, conn: Connection) -> None:
        """Prepare to mock ``conn``."""
        self.conn = conn
        self._real: Transfer | None = None

    def start(self) -> Connection:
        """Swap in an empty memory store (waiting for background work first)."""
        if self._real is not None:
            msg = "this mock is already started"
            raise RuntimeError(msg)
        conn = self.conn
        _drain(conn)
        backend = conn.registries.backends.create("memory")
        self._real = conn.transfer
        conn.transfer = Transfer(backend, conn.registries.codecs, config=conn.config)
        return conn

    def stop(self) -> None:
        """Put the real backend back (waiting for background work first)."""
        if self._real is None:
            return
        conn = self.conn
        _drain(conn)
        mocked, conn.transfer, self._real = conn.transfer, self._real, None
        mocked.close()

    def __enter__(self) -> Connection:
        """Start; return the connection."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.stop()


def _drain(conn: Connection) -> None:
    """Wait for the connection's background work (its failures are still reported later)."""
    runner = conn._runner  # noqa: SLF001 - the front ends of one package
    if runner is not None:
        runner.wait()
