"""The public calls, written once and shared by Connection, Batch and background work.

Each call checks its arguments, then hands a zero-argument function to ``_dispatch``, which
runs it now (a plain call), in the background, or in a batch. The seed API's camelCase names
are aliases of the snake_case ones.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import builtins
import codecs
import dataclasses
import io
import os
import pathlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeAlias, TypeVar, overload

from s3po._headers import parse_headers
from s3po._options import (
    Direct,
    DownloadOptions,
    DownloadStringOptions,
    DownloadToOptions,
    Handled,
    UploadFileOptions,
    UploadOptions,
    check_options,
    seed_keywords,
)
from s3po._types import Headers
from s3po.errors import CorruptData, InvalidRequest, NotFound
from s3po.validation import check_bucket, check_key

if TYPE_CHECKING:
    from typing import Unpack

    from s3po._scope import Scope
    from s3po._types import CommonPrefix, ObjectInfo
    from s3po.batch import Handle
    from s3po.config import TransferConfig
    from s3po.transfer import DownloadResult, Progress, Transfer, UploadResult

__all__ = ["Calls", "CallsOf", "Defaults", "Owner"]

T = TypeVar("T")
#: :class:`~s3po._options.Direct` or :class:`~s3po._options.Handled`: what the calls return.
M = TypeVar("M", Direct, Handled)


class _Unset:
    def __repr__(self) -> str:
        return "<default>"


UNSET: Any = _Unset()


@dataclass(frozen=True, slots=True)
class Defaults:
    """A Connection's defaults for ``upload_file(delete=)`` and every call's ``callback``."""

    delete: bool = False
    callback: Callable[[Any], object] | None = None


class Owner(Protocol):
    """What the calls need from the connection they run on (a Connection is one)."""

    @property
    def transfer(self) -> Transfer:
        """The pipeline."""

    @property
    def defaults(self) -> Defaults:
        """Defaults of the calls."""

    @property
    def config(self) -> TransferConfig:
        """The defaults every call starts from."""

    def config_for(
        self,
        *,
        compress: str | None = ...,
        retries: int | None = ...,
        decompress: bool | None = ...,
    ) -> TransferConfig:
        """The configuration a call with these overrides runs with."""


def _charset(content_type: str | None) -> str:
    if content_type:
        for param in content_type.split(";")[1:]:
            name, _, value = param.strip().partition("=")
            if name.lower() == "charset" and value:
                return value.strip('"')
    return "utf-8"


def _decode(data: bytes, charset: str, bucket: str, key: str) -> str:
    """``data`` as text in ``charset``, or CorruptData naming the object."""
    where = f"s3://{bucket}/{key}"
    try:
        return data.decode(charset)
    except LookupError as exc:
        why = f"its Content-Type names the charset {charset!r}, which Python does not know"
        raise CorruptData(
            f"download_string of {where}: {why}; pass encoding=, or use download_bytes",
            bucket=bucket,
            key=key,
        ) from exc
    except UnicodeDecodeError as exc:
        raise CorruptData(
            f"download_string of {where}: the content is not {charset} text ({exc.reason} at "
            f"byte {exc.start}); pass the right encoding=, or use download_bytes for the bytes",
            bucket=bucket,
            key=key,
        ) from exc


class CallsOf(Generic[M]):
    """Every transfer call, in both spellings; subclasses decide where calls run.

    ``M`` types what a call returns: with :class:`Direct` (a Connection) the result, or a
    :class:`~s3po.Handle` to it with ``background=True``; with :class:`Handled` (a Batch)
    always a Handle. The overloads of each call say so once, here.
    """

    #: Shared byte budget and cancel switch (set by Batch).
    _scope: Scope | None = None

    @property
    def _conn(self) -> Owner:
        raise NotImplementedError

    def _dispatch(
        self,
        op: str,
        bucket: str,
        key: str,
        fn: Callable[[], T],
        *,
        background: bool,
        callback: Callable[[T], object] | None,
    ) -> T | Handle[T]:
        raise NotImplementedError

    # -- uploads --------------------------------------------------------------------------

    @overload
    def upload_string(
        self: CallsOf[Handled],
        bucket: str,
        key: str,
        data: str | bytes,
        *,
        background: bool = ...,
        **options: Unpack[UploadOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload_string(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        data: str | bytes,
        *,
        background: Literal[True],
        **options: Unpack[UploadOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload_string(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        data: str | bytes,
        *,
        background: Literal[False] = ...,
        **options: Unpack[UploadOptions],
    ) -> UploadResult: ...
    @overload
    def upload_string(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        data: str | bytes,
        *,
        background: bool,
        **options: Unpack[UploadOptions],
    ) -> UploadResult | Handle[UploadResult]: ...
    @seed_keywords
    def upload_string(
        self,
        bucket: str,
        key: str,
        data: str | bytes,
        *,
        compress: str | None = UNSET,
        headers: Mapping[str, Any] | Headers | None = None,
        metadata: Mapping[str, str] | None = None,
        retries: int | None = None,
        callback: Callable[[UploadResult], object] | None = None,
        background: bool = False,
        progress: Progress | None = None,
    ) -> UploadResult | Handle[UploadResult]:
        """Upload text (stored as UTF-8) or bytes.

        Args:
            bucket: The bucket.
            key: The key.
            data: The content.
            compress: Codec name (``"gzip"``, ``"zstd"``, ...); None stores it as is.
            headers: ``Content-Type``, ``Cache-Control``, ``x-amz-meta-*``, ...
            metadata: User metadata.
            retries: Retries after the first attempt (default 3).
            callback: Called with the :class:`~s3po.UploadResult`.
            background: Return a :class:`~s3po.Handle` at once and upload in the background.
            progress: Called with each number of bytes read.

        Returns:
            The :class:`~s3po.UploadResult`, or a handle to it.

        .. versionadded:: 0.1.0
        """
        if not isinstance(data, str | bytes | bytearray | memoryview):
            raise InvalidRequest(f"upload_string takes str or bytes, not {type(data).__name__}")
        parsed = parse_headers(headers, metadata)
        if isinstance(data, str) and (parsed is None or parsed.content_type is None):
            parsed = dataclasses.replace(
                parsed or Headers(), content_type="text/plain; charset=utf-8"
            )
        return self._upload(
            "upload_string",
            bucket,
            key,
            data,
            parsed,
            compress,
            retries,
            callback,
            background,
            progress,
            None,
        )

    @overload
    def upload_file(
        self: CallsOf[Handled],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: bool = ...,
        **options: Unpack[UploadFileOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload_file(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: Literal[True],
        **options: Unpack[UploadFileOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload_file(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: Literal[False] = ...,
        **options: Unpack[UploadFileOptions],
    ) -> UploadResult: ...
    @overload
    def upload_file(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: bool,
        **options: Unpack[UploadFileOptions],
    ) -> UploadResult | Handle[UploadResult]: ...
    @seed_keywords
    def upload_file(
        self,
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        compress: str | None = UNSET,
        headers: Mapping[str, Any] | Headers | None = None,
        metadata: Mapping[str, str] | None = None,
        retries: int | None = None,
        delete: bool | None = None,
        callback: Callable[[UploadResult], object] | None = None,
        background: bool = False,
        progress: Progress | None = None,
    ) -> UploadResult | Handle[UploadResult]:
        """Upload a local file, streamed in parts.

        With ``delete=True`` the file is removed only after the upload succeeded, a HEAD
        confirmed the stored object, and the file is still exactly as it was when its
        upload began (:meth:`~s3po.Transfer.delete_source`); on any failure it stays where
        it is. A file that changes while it is uploaded raises :class:`~s3po.SourceChanged`
        and is kept; a path that is not a regular file (a FIFO, a device, a ``/proc`` file)
        raises :class:`~s3po.InvalidRequest`: open it and use :meth:`upload_fileobj`.

        Args:
            bucket: The bucket.
            key: The key.
            path: The file to upload.
            compress: Codec name, or None.
            headers: ``Content-Type``, ``Cache-Control``, ``x-amz-meta-*``, ...
            metadata: User metadata.
            retries: Retries after the first attempt (default 3).
            delete: Remove the local file after a verified upload, if it did not change.
            callback: Called with the :class:`~s3po.UploadResult`.
            background: Return a :class:`~s3po.Handle` at once.
            progress: Called with each number of bytes read.

        .. versionadded:: 0.1.0
        """
        file = pathlib.Path(path)
        if not file.exists():
            raise InvalidRequest(f"{file} does not exist")
        if file.is_dir():
            raise InvalidRequest(f"{file} is a folder; upload_file takes a file")
        delete = self._conn.defaults.delete if delete is None else delete
        return self._upload(
            "upload_file",
            bucket,
            key,
            file,
            parse_headers(headers, metadata),
            compress,
            retries,
            callback,
            background,
            progress,
            file if delete else None,
        )

    @overload
    def upload_fileobj(
        self: CallsOf[Handled],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: bool = ...,
        **options: Unpack[UploadOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload_fileobj(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: Literal[True],
        **options: Unpack[UploadOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload_fileobj(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: Literal[False] = ...,
        **options: Unpack[UploadOptions],
    ) -> UploadResult: ...
    @overload
    def upload_fileobj(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: bool,
        **options: Unpack[UploadOptions],
    ) -> UploadResult | Handle[UploadResult]: ...
    @seed_keywords
    def upload_fileobj(
        self,
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        compress: str | None = UNSET,
        headers: Mapping[str, Any] | Headers | None = None,
        metadata: Mapping[str, str] | None = None,
        retries: int | None = None,
        callback: Callable[[UploadResult], object] | None = None,
        background: bool = False,
        progress: Progress | None = None,
    ) -> UploadResult | Handle[UploadResult]:
        """Upload from a binary stream, read in parts, never whole.

        A stream that cannot seek is fine: bodies up to the multipart threshold are
        buffered and parts are held until sent, so every request can be retried.

        .. versionadded:: 0.1.0
        """
        if not hasattr(fileobj, "read"):
            raise InvalidRequest(
                f"upload_fileobj takes a binary stream, not {type(fileobj).__name__}"
            )
        if isinstance(fileobj, io.TextIOBase):
            raise InvalidRequest("the stream is opened in text mode; open it with 'rb'")
        return self._upload(
            "upload_fileobj",
            bucket,
            key,
            fileobj,
            parse_headers(headers, metadata),
            compress,
            retries,
            callback,
            background,
            progress,
            None,
        )

    def _upload(
        self,
        op: str,
        bucket: str,
        key: str,
        source: Any,  # noqa: ANN401
        headers: Headers | None,
        compress: str | None,
        retries: int | None,
        callback: Callable[[UploadResult], object] | None,
        background: bool,
        progress: Progress | None,
        delete_after: pathlib.Path | None,
    ) -> UploadResult | Handle[UploadResult]:
        check_options(op, compress=None if compress is UNSET else compress, retries=retries)
        check_bucket(bucket)
        check_key(key)
        conn = self._conn
        config = conn.config_for(compress=compress, retries=retries)
        callback = callback if callback is not None else conn.defaults.callback
        scope = self._scope

        def run() -> UploadResult:
            result = conn.transfer.upload(
                bucket,
                key,
                source,
                headers=headers,
                config=config,
                progress=progress,
                scope=scope,
            )
            if delete_after is not None:
                conn.transfer.delete_source(result, delete_after, config)
            return result

        return self._dispatch(op, bucket, key, run, background=background, callback=callback)

    # -- downloads ------------------------------------------------------------------------

    @overload
    def download_bytes(
        self: CallsOf[Handled],
        bucket: str,
        key: str,
        *,
        background: bool = ...,
        **options: Unpack[DownloadOptions[bytes]],
    ) -> Handle[bytes]: ...
    @overload
    def download_bytes(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        *,
        background: Literal[True],
        **options: Unpack[DownloadOptions[bytes]],
    ) -> Handle[bytes]: ...
    @overload
    def download_bytes(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        *,
        background: Literal[False] = ...,
        **options: Unpack[DownloadOptions[bytes]],
    ) -> bytes: ...
    @overload
    def download_bytes(
        self: CallsOf[Direct],
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

        def run(conn: Owner, config: TransferConfig) -> bytes:
            return conn.transfer.read(bucket, key, config=config)

        return self._download(
            "download_bytes", bucket, key, run, decompress, retries, callback, background
        )

    @overload
    def download_string(
        self: CallsOf[Handled],
        bucket: str,
        key: str,
        *,
        background: bool = ...,
        **options: Unpack[DownloadStringOptions],
    ) -> Handle[str]: ...
    @overload
    def download_string(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        *,
        background: Literal[True],
        **options: Unpack[DownloadStringOptions],
    ) -> Handle[str]: ...
    @overload
    def download_string(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        *,
        background: Literal[False] = ...,
        **options: Unpack[DownloadStringOptions],
    ) -> str: ...
    @overload
    def download_string(
        self: CallsOf[Direct],
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
            InvalidRequest: ``encoding`` names no codec Python knows (before any I/O).
            CorruptData: The bytes are not text in that charset, or the object's
                Content-Type names an unknown charset; ``download_bytes`` returns them as
                they are.

        .. versionadded:: 0.1.0
        """
        if encoding is not None:
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise InvalidRequest(f"{encoding!r} is not a text encoding Python knows") from None

        def run(conn: Owner, config: TransferConfig) -> str:
            with conn.transfer.open(bucket, key, config=config) as result:
                data = result.body.readall()
                charset = encoding or _charset(result.info.headers.content_type)
            return _decode(data, charset, bucket, key)

        return self._download(
            "download_string", bucket, key, run, decompress, retries, callback, background
        )

    @overload
    def download_file(
        self: CallsOf[Handled],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: bool = ...,
        **options: Unpack[DownloadToOptions],
    ) -> Handle[DownloadResult]: ...
    @overload
    def download_file(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: Literal[True],
        **options: Unpack[DownloadToOptions],
    ) -> Handle[DownloadResult]: ...
    @overload
    def download_file(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: Literal[False] = ...,
        **options: Unpack[DownloadToOptions],
    ) -> DownloadResult: ...
    @overload
    def download_file(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: bool,
        **options: Unpack[DownloadToOptions],
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
    ) -> DownloadResult | Handle[DownloadResult]:
        """Download to a file, written atomically (a failure leaves no partial file).

        .. versionadded:: 0.1.0
        """
        target = pathlib.Path(path)
        if target.is_dir():
            raise InvalidRequest(f"{target} is a folder; give the file path to write")

        def run(conn: Owner, config: TransferConfig) -> DownloadResult:
            return conn.transfer.download(bucket, key, target, config=config, progress=progress)

        return self._download(
            "download_file", bucket, key, run, decompress, retries, callback, background
        )

    @overload
    def download_fileobj(
        self: CallsOf[Handled],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: bool = ...,
        **options: Unpack[DownloadToOptions],
    ) -> Handle[DownloadResult]: ...
    @overload
    def download_fileobj(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: Literal[True],
        **options: Unpack[DownloadToOptions],
    ) -> Handle[DownloadResult]: ...
    @overload
    def download_fileobj(
        self: CallsOf[Direct],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: Literal[False] = ...,
        **options: Unpack[DownloadToOptions],
    ) -> DownloadResult: ...
    @overload
    def download_fileobj(
        self: CallsOf[Direct],
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

        def run(conn: Owner, config: TransferConfig) -> DownloadResult:
            return conn.transfer.download(bucket, key, fileobj, config=config, progress=progress)

        return self._download(
            "download_fileobj", bucket, key, run, decompress, retries, callback, background
        )

    def _download(
        self,
        op: str,
        bucket: str,
        key: str,
        run: Callable[[Owner, TransferConfig], T],
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
        return self._dispatch(
            op,
            bucket,
            key,
            lambda: run(conn, config),
            background=background,
            callback=callback if callback is not None else conn.defaults.callback,
        )

    # -- objects --------------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Return an object's size, ETag, headers and metadata.

        .. versionadded:: 0.1.0
        """
        return self._conn.transfer.head(bucket, key)

    def exists(self, bucket: str, key: str) -> bool:
        """Whether the object exists.

        .. versionadded:: 0.1.0
        """
        try:
            self._conn.transfer.head(bucket, key)
        except NotFound:
            return False
        return True

    def delete(self, bucket: str, key: str) -> None:
        """Delete an object (a missing key is not an error, as on S3).

        .. versionadded:: 0.1.0
        """
        self._conn.transfer.delete(bucket, key)

    def list(
        self, bucket: str, prefix: str = "", *, delimiter: str | None = None
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """Yield the objects under ``prefix`` in key order (and folders, with ``delimiter``).

        .. versionadded:: 0.1.0
        """
        return self._conn.transfer.list(bucket, prefix, delimiter)

    def list_names(self, bucket: str, prefix: str = "") -> builtins.list[str]:
        """The keys under ``prefix``, in order.

        .. versionadded:: 0.1.0
        """
        return [entry.key for entry in self.list(bucket, prefix) if hasattr(entry, "key")]

    def create_bucket(self, bucket: str) -> None:
        """Create a bucket (an existing one of yours is fine).

        .. versionadded:: 0.1.0
        """
        self._conn.transfer.create_bucket(bucket)

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        headers: Mapping[str, Any] | Headers | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Copy an object inside the store; new ``headers``/``metadata`` replace the old.

        .. versionadded:: 0.1.0
        """
        return self._conn.transfer.copy(
            src_bucket, src_key, bucket, key, headers=parse_headers(headers, metadata)
        )

    # -- the seed API's spellings ---------------------------------------------------------

    uploadString = upload_string  # noqa: N815
    uploadFile = upload_file  # noqa: N815
    uploadFileobj = upload_fileobj  # noqa: N815
    downloadString = download_string  # noqa: N815
    downloadBytes = download_bytes  # noqa: N815
    downloadFile = download_file  # noqa: N815
    downloadFileobj = download_fileobj  # noqa: N815
    listNames = list_names  # noqa: N815
    createBucket = create_bucket  # noqa: N815


#: The calls of a front end of either mode (for code that takes a Connection or a Batch).
Calls: TypeAlias = CallsOf[Any]
