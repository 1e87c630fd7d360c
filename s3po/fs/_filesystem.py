"""S3poFileSystem: the ``s3po://`` protocol for fsspec, on a :class:`~s3po.Connection`.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Callable
from typing import IO, Any, ClassVar

from fsspec.spec import AbstractFileSystem
from fsspec.utils import stringify_path

from s3po._types import CommonPrefix, ObjectInfo
from s3po.client import Connection
from s3po.client.base import UNSET
from s3po.errors import ConfigError, NotFound
from s3po.fs._files import DecodedFile, RangedFile, WriteFile

__all__ = ["DECODED_SIZE_METADATA", "SEEKABLE_METADATA", "S3poFileSystem"]

#: User metadata holding the decoded size of an encoded object (the name the CLI uses too).
DECODED_SIZE_METADATA = "s3po-size"
#: User metadata marking an object written in a framed format (its value: zstd or gzip).
SEEKABLE_METADATA = "s3po-seekable"
#: The codec names that write framed objects, and the format each marks itself with.
_SEEKABLE_CODECS = {"zstd-seekable": "zstd", "gzip-seekable": "gzip"}


class S3poFileSystem(AbstractFileSystem):  # type: ignore[misc]  # fsspec is untyped
    """Object storage through s3po, as an fsspec filesystem (``s3po://bucket/key``).

    Paths are ``bucket/key``; folders are emulated from key prefixes, as s3fs does, so a
    folder exists while an object is under it and ``mkdir`` below a bucket stores nothing.

    Reads decode the object by its Content-Encoding and verify its s3po checksum, as
    :meth:`~s3po.Connection.download_bytes` does. ``open(path, "rb")`` on an object stored
    as is reads with ranged GETs pinned to its ETag (one verified GET if it fits a block);
    on an encoded object it streams the decoded content, and on seekable zstd or gzip it
    fetches only the frame index and the frames a read needs. Writes (``open(path, "wb")``,
    ``pipe``, ``put``) take ``compress=`` (``"gzip"``, ``"zstd"``, ``"zstd-seekable"``, ...)
    and go through the Connection: Content-Encoding, multipart, retries and checksum as for
    every upload.

    ``info`` reports ``size`` as the **stored** size (what the store holds and bills, what
    ``du`` adds up), with ``decoded_size``, the size of the content, when it is known: for
    an object stored as is (equal to ``size``), for one written by this filesystem or the
    CLI (recorded as ``s3po-size`` metadata), and None otherwise. It also has ``ETag``,
    ``ContentEncoding``, ``ContentType``, ``LastModified`` and ``metadata``. Listings
    (``ls``, ``find``) come from ListObjects, which reports only the stored size.

    Args:
        backend: The backend name (``"local"``, ``"s3"``, ...) as for
            :class:`~s3po.Connection`.
        connection: Use this Connection instead of making one (then give no other option).
        root: The local backend's folder.
        compress: Default codec for writes (None: store as written).
        retries: Retries after the first attempt.
        **options: Passed to :class:`~s3po.Connection` (``endpoint_url=``, ``profile=``,
            ``region_name=``, ``config=``, ...).

    Missing paths raise :class:`FileNotFoundError` (s3po's :class:`~s3po.NotFound` is
    one). Listing buckets (``ls("")``) is not offered: the pipeline has no ListBuckets.
    ``open(path, "xb")`` and ``pipe(..., mode="create")`` check that the object is absent
    first: that is not atomic against another writer.

    .. versionadded:: 0.4.0
    """

    protocol: ClassVar[tuple[str, ...]] = ("s3po",)
    root_marker = ""

    def __init__(
        self,
        backend: str | None = None,
        *,
        connection: Connection | None = None,
        root: str | os.PathLike[str] | None = None,
        compress: str | None = None,
        retries: int | None = None,
        **options: Any,  # noqa: ANN401
    ) -> None:
        """Open the Connection (or take ``connection``)."""
        super().__init__()
        if connection is None:
            connection = Connection(
                backend, root=root, compress=compress, retries=retries, **options
            )
        elif backend is not None or root is not None or options:
            raise ConfigError("give either connection= or the Connection's options, not both")
        self.conn = connection

    # -- paths ----------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:  # noqa: ANN401 - str or a list of them
        """``s3po://bucket/key/`` -> ``bucket/key``."""
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = stringify_path(path)
        path = path.removeprefix("s3po://")
        return path.strip("/")

    def split_path(self, path: str) -> tuple[str, str]:
        """``bucket/key`` -> ``("bucket", "key")`` (the key is ``""`` for a bucket)."""
        bucket, _, key = self._strip_protocol(path).partition("/")
        if not bucket:
            raise ValueError("an s3po path names a bucket first: s3po://bucket/key")
        return bucket, key

    # -- information ----------------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:  # noqa: ANN401, ARG002
        """The objects and folders directly under ``path`` (or ``[info]`` of a file)."""
        path = self._strip_protocol(path)
        if not path:
            raise NotImplementedError(
                "s3po lists objects inside a bucket, not the buckets: ls('s3po://bucket')"
            )
        bucket, key = self.split_path(path)
        prefix = f"{key}/" if key else ""
        entries: list[dict[str, Any]] = []
        for entry in self.conn.list(bucket, prefix, delimiter="/"):
            if isinstance(entry, CommonPrefix):
                entries.append(_folder(f"{bucket}/{entry.prefix.rstrip('/')}"))
            elif entry.key != prefix:  # a folder marker object is the folder itself
                entries.append(self._file(entry))
        if not entries and key:
            entries = [self._file(self._head(bucket, key, path))]
        return entries if detail else [e["name"] for e in entries]

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,  # noqa: ANN401, ARG002
    ) -> Any:  # noqa: ANN401 - names, or names to details
        """Everything below ``path`` from one flat listing (folders derived from the keys)."""
        path = self._strip_protocol(path)
        if maxdepth is not None and maxdepth < 1:
            raise ValueError("maxdepth must be at least 1")
        bucket, key = self.split_path(path)
        base = f"{key}/" if key else ""
        out: dict[str, dict[str, Any]] = {}
        for entry in self.conn.list(bucket, base):
            if not isinstance(entry, ObjectInfo) or entry.key.endswith("/"):
                continue  # folder markers are folders, derived below
            parts = entry.key[len(base) :].split("/")
            if withdirs:
                for depth in range(1, min(len(parts), (maxdepth or len(parts)) + 1)):
                    name = f"{bucket}/{base}{'/'.join(parts[:depth])}"
                    out.setdefault(name, _folder(name))
            if maxdepth is None or len(parts) <= maxdepth:
                out[f"{bucket}/{entry.key}"] = self._file(entry)
        if out and withdirs:
            out[path] = _folder(path)
        elif not out and key:
            with contextlib.suppress(NotFound):
                out[path] = self._file(self.conn.head(bucket, key))
        names = sorted(out)
        return {name: out[name] for name in names} if detail else names

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:  # noqa: ANN401, ARG002
        """Size (stored), decoded size, type, ETag, Content-Encoding, ... of ``path``."""
        path = self._strip_protocol(path)
        bucket, key = self.split_path(path)
        if not key:
            next(iter(self.conn.list(bucket, delimiter="/")), None)  # NoSuchBucket if absent
            return _folder(bucket)
        try:
            return self._file(self.conn.head(bucket, key))
        except NotFound:
            pass
        if next(iter(self.conn.list(bucket, f"{key}/")), None) is not None:
            return _folder(path)
        raise FileNotFoundError(f"s3po://{path} does not exist")

    def _head(self, bucket: str, key: str, path: str) -> ObjectInfo:
        try:
            return self.conn.head(bucket, key)
        except NotFound as exc:
            raise FileNotFoundError(f"s3po://{path} does not exist") from exc

    def _file(self, info: ObjectInfo) -> dict[str, Any]:
        headers = info.headers
        encoding = headers.content_encoding or None
        decoded: int | None = info.size
        if encoding:
            recorded = headers.metadata.get(DECODED_SIZE_METADATA, "")
            decoded = int(recorded) if recorded.isdigit() else None
        return {
            "name": f"{info.bucket}/{info.key}",
            "type": "file",
            "size": info.size,
            "decoded_size": decoded,
            "ETag": info.etag,
            "ContentEncoding": encoding,
            "ContentType": headers.content_type,
            "LastModified": info.last_modified,
            "VersionId": info.version_id,
            "metadata": dict(headers.metadata),
            "seekable": headers.metadata.get(SEEKABLE_METADATA) in _SEEKABLE_CODECS.values(),
        }

    def modified(self, path: str) -> Any:  # noqa: ANN401 - a datetime, or None
        """When the object was written (its Last-Modified)."""
        info = self.info(path)
        if info["type"] != "file":
            raise IsADirectoryError(f"s3po://{path} is a folder; folders have no time")
        return info["LastModified"]

    def ukey(self, path: str) -> str:
        """The object's ETag: it changes whenever the object does."""
        return str(self.info(path).get("ETag", ""))

    # -- folders --------------------------------------------------------------------------

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:  # noqa: ANN401, ARG002
        """Create the bucket for a bucket path; below a bucket, folders need no creating."""
        bucket, key = self.split_path(path)
        if not key or create_parents:
            self.conn.create_bucket(bucket)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:  # noqa: ARG002
        """As :meth:`mkdir` (folders below a bucket exist once an object is in them)."""
        self.mkdir(path, create_parents=True)

    def rmdir(self, path: str) -> None:
        """Nothing to remove for a folder; s3po does not delete buckets."""

    # -- reading --------------------------------------------------------------------------

    def cat_file(
        self,
        path: str,
        start: int | None = None,
        end: int | None = None,
        **kwargs: Any,  # noqa: ANN401
    ) -> bytes:
        """The decoded content of ``path`` (bytes ``[start, end)`` of it, if given)."""
        if start is None and end is None:
            bucket, key = self.split_path(path)
            try:
                return self.conn.download_bytes(bucket, key)
            except NotFound as exc:
                raise FileNotFoundError(f"s3po://{path} does not exist") from exc
        return super().cat_file(path, start=start, end=end, **kwargs)  # type: ignore[no-any-return]

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | str | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,  # noqa: ANN401
    ) -> IO[bytes]:
        path = self._strip_protocol(path)
        if mode == "rb":
            details = self.info(path)
            if details["type"] != "file":
                raise IsADirectoryError(f"s3po://{path} is a folder")
            if details["ContentEncoding"]:
                return DecodedFile(self, path, details=details)  # type: ignore[return-value]
            return RangedFile(
                self,
                path,
                details=details,
                block_size=block_size or "default",
                cache_type=kwargs.get("cache_type", "readahead"),
                cache_options=cache_options,
            )
        if mode in {"wb", "xb"}:
            if mode == "xb" and self.exists(path):
                raise FileExistsError(f"s3po://{path} exists (opened with 'x')")
            return WriteFile(
                self,
                path,
                block_size=block_size or "default",
                autocommit=autocommit,
                upload=_upload_options(kwargs),
            )
        raise NotImplementedError(f"s3po opens objects with 'rb', 'wb' or 'xb', not {mode!r}")

    def get_file(
        self,
        rpath: str,
        lpath: str,
        callback: Any = None,  # noqa: ANN401 - an fsspec Callback
        outfile: IO[bytes] | None = None,
        **kwargs: Any,  # noqa: ANN401, ARG002
    ) -> None:
        """Download ``rpath`` (decoded, verified) to the file ``lpath``, written atomically."""
        bucket, key = self.split_path(rpath)
        progress = _progress(callback)
        target = pathlib.Path(lpath)
        try:
            if outfile is not None:
                self.conn.download_fileobj(bucket, key, outfile, progress=progress)
                return
            if not key or (target.is_dir() and self.isdir(rpath)):
                target.mkdir(parents=True, exist_ok=True)
                return
            target.absolute().parent.mkdir(parents=True, exist_ok=True)
            self.conn.download_file(bucket, key, target, progress=progress)
        except NotFound:
            if not self.isdir(rpath):
                raise
            target.mkdir(parents=True, exist_ok=True)

    # -- writing --------------------------------------------------------------------------

    def pipe_file(
        self,
        path: str,
        value: bytes,
        mode: str = "overwrite",
        **kwargs: Any,  # noqa: ANN401
    ) -> None:
        """Store ``value`` at ``path`` (``mode="create"``: only if nothing is there)."""
        if mode == "create" and self.exists(path):
            raise FileExistsError(f"s3po://{self._strip_protocol(path)} exists")
        options = _upload_options(kwargs)
        self.upload_stream(path, bytes(value), len(value), **options)

    def put_file(
        self,
        lpath: str,
        rpath: str,
        callback: Any = None,  # noqa: ANN401 - an fsspec Callback
        mode: str = "overwrite",
        **kwargs: Any,  # noqa: ANN401
    ) -> None:
        """Upload the local file ``lpath`` to ``rpath`` (streamed in parts)."""
        source_path = pathlib.Path(lpath)
        if source_path.is_dir():
            return  # folders below a bucket need no creating
        if mode == "create" and self.exists(rpath):
            raise FileExistsError(f"s3po://{self._strip_protocol(rpath)} exists")
        size = source_path.stat().st_size
        if callback is not None:
            callback.set_size(size)
        options = _upload_options(kwargs)
        with source_path.open("rb") as source:
            self.upload_stream(rpath, source, size, progress=_progress(callback), **options)

    def upload_stream(
        self,
        path: str,
        source: bytes | IO[bytes],
        size: int,
        *,
        compress: str | None = UNSET,
        headers: dict[str, Any] | None = None,
        metadata: dict[str, str] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Upload ``source`` (``size`` bytes of content) to ``path`` through the Connection.

        An encoded upload records the content's size as ``s3po-size`` metadata (and
        ``zstd-seekable`` and ``gzip-seekable`` mark themselves with ``s3po-seekable``), so
        ``info`` can report it.

        .. versionadded:: 0.4.0
        """
        bucket, key = self.split_path(path)
        if not key:
            raise IsADirectoryError(f"s3po://{bucket} is a bucket; give a key to write")
        codec = self.conn.config.compress if compress is UNSET else compress
        meta = dict(metadata or {})
        if codec is not None:
            meta.setdefault(DECODED_SIZE_METADATA, str(size))
            seekable = _SEEKABLE_CODECS.get(codec.strip().lower())
            if seekable is not None:
                meta.setdefault(SEEKABLE_METADATA, seekable)
        if isinstance(source, bytes):
            self.conn.upload_string(
                bucket, key, source, compress=codec, headers=headers, metadata=meta
            )
        else:
            self.conn.upload_fileobj(
                bucket,
                key,
                source,
                compress=codec,
                headers=headers,
                metadata=meta,
                progress=progress,
            )

    # -- copying and removing -------------------------------------------------------------

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:  # noqa: ANN401, ARG002
        """Copy one object inside the store (a folder has nothing to copy)."""
        src_bucket, src_key = self.split_path(path1)
        bucket, key = self.split_path(path2)
        if not src_key:
            return  # a bucket is a folder: nothing to copy
        try:
            self.conn.copy(src_bucket, src_key, bucket, key)
        except NotFound:
            if not self.isdir(path1):
                raise

    def rm_file(self, path: str) -> None:
        """Delete one object (a folder or a missing key is not an error)."""
        bucket, key = self.split_path(path)
        if key:
            self.conn.delete(bucket, key)

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:  # noqa: ANN401
        """Delete the objects at ``path`` (and under it with ``recursive=True``)."""
        for p in reversed(self.expand_path(path, recursive=recursive, maxdepth=maxdepth)):
            self.rm_file(p)


def _folder(name: str) -> dict[str, Any]:
    return {"name": name, "type": "directory", "size": 0}


def _upload_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The upload options among fsspec's keyword arguments (``compress``, ...)."""
    return {k: kwargs[k] for k in ("compress", "headers", "metadata") if k in kwargs}


def _progress(callback: Any) -> Callable[[int], None] | None:  # noqa: ANN401
    if callback is None or not hasattr(callback, "relative_update"):
        return None
    update: Callable[[int], None] = callback.relative_update
    return update
