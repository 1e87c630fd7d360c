"""The upload calls: check the arguments once, then hand the source to Transfer.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import dataclasses
import errno
import io
import os
import pathlib
import stat
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, Literal, overload

from s3po._headers import guess_content_type as guess_type
from s3po._headers import parse_headers
from s3po._types import Headers
from s3po.backend.models import WriteCondition
from s3po.client.base import UNSET, CallBase, M
from s3po.client.options import (
    Direct,
    Handled,
    UploadFileOptions,
    UploadOptions,
    check_options,
    seed_keywords,
)
from s3po.errors import InvalidRequest
from s3po.validation import as_path, check_bucket, check_key

if TYPE_CHECKING:
    from typing import Unpack

    from s3po.client.background import Handle
    from s3po.transfer import Progress, UploadResult

__all__ = ["UploadCalls", "write_condition"]

#: The errors of ``stat`` that :meth:`pathlib.Path.exists` takes for "does not exist".
_MISSING = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def write_condition(if_none_match: object, if_match: object) -> WriteCondition | None:
    """The :class:`~s3po.backend.WriteCondition` of an upload's ``if_none_match``/``if_match``.

    Raises:
        InvalidRequest: ``if_none_match`` is not ``"*"``, ``if_match`` is not a non-empty
            string, or both are given; before any I/O.

    .. versionadded:: 0.4.0
    """
    if if_none_match is None and if_match is None:
        return None
    if if_none_match is not None and if_none_match != "*":
        raise InvalidRequest(
            f"if_none_match= takes only '*' (store only if the key holds no object), not "
            f"{if_none_match!r}; to replace one version, pass its ETag as if_match="
        )
    if if_match is not None and not isinstance(if_match, str):
        raise InvalidRequest(f"if_match= takes an ETag (str), not {type(if_match).__name__}")
    if if_none_match is not None and if_match is not None:
        raise InvalidRequest("give if_none_match='*' or if_match=<etag>, not both")
    return WriteCondition(if_none_match=if_none_match is not None, if_match=if_match)


class UploadCalls(CallBase[M]):
    """``upload_string``, ``upload_file``, ``upload_fileobj``, in both spellings."""

    # -- uploads --------------------------------------------------------------------------

    @overload
    def upload_string(
        self: UploadCalls[Handled],
        bucket: str,
        key: str,
        data: str | bytes,
        *,
        background: bool = ...,
        **options: Unpack[UploadOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload_string(
        self: UploadCalls[Direct],
        bucket: str,
        key: str,
        data: str | bytes,
        *,
        background: Literal[True],
        **options: Unpack[UploadOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload_string(
        self: UploadCalls[Direct],
        bucket: str,
        key: str,
        data: str | bytes,
        *,
        background: Literal[False] = ...,
        **options: Unpack[UploadOptions],
    ) -> UploadResult: ...
    @overload
    def upload_string(
        self: UploadCalls[Direct],
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
        background: bool | None = None,
        progress: Progress | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
        silent: bool = False,  # noqa: ARG002 - the original's; seed_keywords warns it is ignored
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
            background: Return a :class:`~s3po.Handle` at once and upload in the background
                (default: the Connection's ``background=``, False).
            progress: Called with each number of bytes read.
            if_none_match: ``"*"``: store only if the key holds no object; else
                :class:`~s3po.PreconditionFailed` and nothing changes (S3's If-None-Match,
                for multipart uploads on CompleteMultipartUpload; the upload is aborted).
            if_match: An ETag: replace only that version of the object (compare-and-swap);
                else :class:`~s3po.PreconditionFailed`.
            silent: Accepted for the original s3po's code and ignored (it warns): failures
                always raise.

        Returns:
            The :class:`~s3po.UploadResult`, or a handle to it.

        .. versionadded:: 0.1.0

        .. versionchanged:: 0.4.0
           ``if_none_match`` and ``if_match``.
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
            write_condition(if_none_match, if_match),
        )

    @overload
    def upload_file(
        self: UploadCalls[Handled],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: bool = ...,
        **options: Unpack[UploadFileOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload_file(
        self: UploadCalls[Direct],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: Literal[True],
        **options: Unpack[UploadFileOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload_file(
        self: UploadCalls[Direct],
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        background: Literal[False] = ...,
        **options: Unpack[UploadFileOptions],
    ) -> UploadResult: ...
    @overload
    def upload_file(
        self: UploadCalls[Direct],
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
        guess_content_type: bool | None = None,
        callback: Callable[[UploadResult], object] | None = None,
        background: bool | None = None,
        progress: Progress | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
        silent: bool = False,  # noqa: ARG002 - the original's; seed_keywords warns it is ignored
        resume: bool | None = None,
        keep_mtime: bool = False,
    ) -> UploadResult | Handle[UploadResult]:
        """Upload a local file, streamed in parts.

        With ``delete=True`` the file is removed only after the upload succeeded, a HEAD
        confirmed the stored object, and the file is still exactly as it was when its
        upload began (:meth:`~s3po.Transfer.delete_source`); on any failure it stays where
        it is. A file that changes while it is uploaded raises :class:`~s3po.SourceChanged`
        and is kept; a path that is not a regular file (a FIFO, a device, a ``/proc`` file)
        raises :class:`~s3po.InvalidRequest`: open it and use :meth:`upload_fileobj`.

        Without a Content-Type (in ``headers`` or the Connection's), the file gets the one
        its extension names (:func:`mimetypes.guess_type`, as aws-cli): ``x.json`` is
        ``application/json``, also when ``compress=`` stores it gzip-encoded; ``x.json.gz``
        is ``application/gzip``, or ``application/json`` when uploaded with
        ``Content-Encoding: gzip``. ``guess_content_type=False`` stores none.

        Args:
            bucket: The bucket.
            key: The key.
            path: The file to upload.
            compress: Codec name, or None.
            headers: ``Content-Type``, ``Cache-Control``, ``x-amz-meta-*``, ...
            metadata: User metadata.
            retries: Retries after the first attempt (default 3).
            delete: Remove the local file after a verified upload, if it did not change.
            guess_content_type: Guess a missing Content-Type from the file's extension
                (default: the Connection's ``guess_content_type=``, True).
            callback: Called with the :class:`~s3po.UploadResult`.
            background: Return a :class:`~s3po.Handle` at once (default: the Connection's
                ``background=``, False).
            progress: Called with each number of bytes read.
            if_none_match: ``"*"``: store only if the key holds no object; else
                :class:`~s3po.PreconditionFailed` and nothing changes (S3's If-None-Match,
                for multipart uploads on CompleteMultipartUpload; the upload is aborted).
            if_match: An ETag: replace only that version of the object (compare-and-swap);
                else :class:`~s3po.PreconditionFailed`.
            silent: Accepted for the original s3po's code and ignored (it warns).
            resume: Continue an interrupted multipart upload of this file to this key,
                sending only the parts the store does not hold, and keep the upload when
                this one is interrupted (default: the Connection's
                ``TransferConfig.resume``, False). See :mod:`s3po.resume`.
            keep_mtime: Record the file's size and modification time in the object's
                metadata (``s3po-size``, ``s3po-mtime``), as the upload found the open file,
                so ``download_file(..., keep_mtime=True)`` gives them back
                (:mod:`s3po.mtimes`).

        .. versionadded:: 0.1.0

        .. versionchanged:: 0.4.0
           ``if_none_match`` and ``if_match``; ``resume``; ``keep_mtime``;
           ``guess_content_type``: the Content-Type is guessed by default.
        """
        check_options("upload_file", guess_content_type=guess_content_type)
        file = as_path(path)
        try:  # one stat, not exists() and is_dir(): a batch pays it per file on its thread
            mode = file.stat().st_mode
        except OSError as exc:
            if exc.errno not in _MISSING:
                raise
            raise InvalidRequest(f"{file} does not exist") from None
        if stat.S_ISDIR(mode):
            raise InvalidRequest(f"{file} is a folder; upload_file takes a file")
        defaults = self._conn.defaults
        delete = defaults.delete if delete is None else delete
        parsed = parse_headers(headers, metadata)
        if defaults.guess_content_type if guess_content_type is None else guess_content_type:
            parsed = self._guessed(file, parsed)
        return self._upload(
            "upload_file",
            bucket,
            key,
            file,
            parsed,
            compress,
            retries,
            callback,
            background,
            progress,
            file if delete else None,
            write_condition(if_none_match, if_match),
            resume=resume,
            keep_mtime=keep_mtime,
        )

    @overload
    def upload_fileobj(
        self: UploadCalls[Handled],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: bool = ...,
        **options: Unpack[UploadOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload_fileobj(
        self: UploadCalls[Direct],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: Literal[True],
        **options: Unpack[UploadOptions],
    ) -> Handle[UploadResult]: ...
    @overload
    def upload_fileobj(
        self: UploadCalls[Direct],
        bucket: str,
        key: str,
        fileobj: IO[bytes],
        *,
        background: Literal[False] = ...,
        **options: Unpack[UploadOptions],
    ) -> UploadResult: ...
    @overload
    def upload_fileobj(
        self: UploadCalls[Direct],
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
        background: bool | None = None,
        progress: Progress | None = None,
        if_none_match: str | None = None,
        if_match: str | None = None,
        silent: bool = False,  # noqa: ARG002 - the original's; seed_keywords warns it is ignored
    ) -> UploadResult | Handle[UploadResult]:
        """Upload from a binary stream, read in parts, never whole.

        A stream that cannot seek is fine: bodies up to the multipart threshold are
        buffered and parts are held until sent, so every request can be retried.
        ``if_none_match`` and ``if_match`` are as for :meth:`upload_string`.

        .. versionadded:: 0.1.0

        .. versionchanged:: 0.4.0
           ``if_none_match`` and ``if_match``.
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
            write_condition(if_none_match, if_match),
        )

    def _guessed(self, file: pathlib.Path, headers: Headers | None) -> Headers | None:
        """``headers`` with the Content-Type ``file``'s extension names, if none was given."""
        base = self._conn.config.headers
        if (headers is not None and headers.content_type) or base.content_type:
            return headers
        encoding = (headers.content_encoding if headers else None) or base.content_encoding
        kind = guess_type(file, encoding)
        if kind is None:
            return headers
        return dataclasses.replace(headers or Headers(), content_type=kind)

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
        background: bool | None,
        progress: Progress | None,
        delete_after: pathlib.Path | None,
        condition: WriteCondition | None = None,
        *,
        resume: bool | None = None,
        keep_mtime: bool = False,
    ) -> UploadResult | Handle[UploadResult]:
        check_options(
            op, compress=None if compress is UNSET else compress, retries=retries, resume=resume
        )
        check_bucket(bucket)
        check_key(key)
        conn = self._conn
        config = conn.config_for(compress=compress, retries=retries, resume=resume)
        callback = callback if callback is not None else conn.defaults.callback
        background = conn.defaults.background if background is None else background
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
                checked=True,
                condition=condition,
                keep_mtime=keep_mtime,
            )
            if delete_after is not None:
                conn.transfer.delete_source(result, delete_after, config)
            return result

        return self._dispatch(op, bucket, key, run, background=background, callback=callback)

    uploadString = upload_string  # noqa: N815
    uploadFile = upload_file  # noqa: N815
    uploadFileobj = upload_fileobj  # noqa: N815
