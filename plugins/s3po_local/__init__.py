"""The local-filesystem backend: S3's semantics on a folder, for tests and dry runs.

Buckets are folders under ``root`` and keys are paths below them, so the stored objects are
plain files you can open. Everything S3 keeps beside the bytes lives in a hidden tree,
``root/.s3po/`` (no bucket can be named so): one JSON file per object with Content-Type,
Content-Encoding, user metadata and the ETag as S3 computes it (the MD5, or the MD5 of the
part MD5s with ``-N`` for multipart), and one folder per incomplete multipart upload.

Writes are atomic: a temporary file is written, fsynced and renamed into place, so a
reader never sees half an object. Multipart uploads obey S3's limits (parts of at least
5 MiB but the last, at most 10,000 parts) so that code tested here behaves the same on S3.
A key that would escape the root (``..``, an absolute path) or that a filesystem cannot hold
(an empty path segment) raises :class:`~s3po.InvalidKey`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import s3po
from s3po import (
    Body,
    Capabilities,
    CommonPrefix,
    FileWindow,
    GetResult,
    Headers,
    MultipartUpload,
    ObjectInfo,
    PartBody,
    PartInfo,
    emulation,
)

if TYPE_CHECKING:
    from s3po._types import UploadBody

__all__ = ["LocalBackend", "s3po_register_backends"]

_TMP = ".s3po-tmp-"
_META_DIR = ".s3po"
_CHUNK = 1024 * 1024
_ETAGS = ("md5", "opaque")


@s3po.hookimpl
def s3po_register_backends(registry: s3po.BackendRegistry) -> None:
    """Register the ``local`` backend."""
    registry.register("local", LocalBackend)


class _FileBody(Body):
    """The stored file from its current position, ``remaining`` bytes of it."""

    def __init__(self, stream: IO[bytes], remaining: int) -> None:
        super().__init__()
        self._stream = stream
        self._remaining = remaining
        self._kernel_copy = hasattr(os, "copy_file_range")

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        n = self._remaining if size is None or size < 0 else min(size, self._remaining)
        data = self._stream.read(n)
        self._remaining -= len(data)
        return data

    def copy_into(self, fd: int, offset: int, size: int) -> int:
        """Copy inside the kernel (``os.copy_file_range``) where the OS and filesystem can."""
        n = min(size, self._remaining)
        if n <= 0:
            return 0
        if self._kernel_copy:
            pos = self._stream.tell()
            try:
                copied = os.copy_file_range(self._stream.fileno(), fd, n, pos, offset)
            except OSError:  # e.g. a filesystem pair the call does not support
                self._kernel_copy = False
            else:
                self._stream.seek(pos + copied)
                self._remaining -= copied
                return copied
        return super().copy_into(fd, offset, n)

    def close(self) -> None:
        self._stream.close()
        super().close()


class LocalBackend:
    """Objects stored as files under ``root``.

    Args:
        root: The folder holding the buckets (created if missing).
        create_buckets: Create a missing bucket on first write (default True, so a fresh
            root works at once); False refuses writes to it with NoSuchBucket, as S3 does.
            Reads of a missing bucket raise NoSuchBucket either way.
        fsync: Flush objects to disk before renaming them into place (default True).
            Multipart part files are staging and are not flushed; the object they make is.
        etag: ``"md5"`` (default): ETags as S3 computes them, the MD5 of the bytes (of the
            part MD5s, with ``-N``, for multipart uploads). ``"opaque"``: a random 128-bit
            hex token per write (``-N`` kept for multipart), so storing costs no hashing and
            file uploads are copied inside the kernel. ETags still change with every write
            and If-Match works, but equal bytes no longer mean equal ETags; for scratch
            stores and dry runs of large data, not for tests that compare ETags to MD5s.
        min_part_size: Smallest part but the last (S3: 5 MiB).
        max_parts: Most parts per upload (S3: 10,000).

    .. versionadded:: 0.1.0
    """

    name = "local"
    capabilities = Capabilities()

    def __init__(
        self,
        root: str | os.PathLike[str] = ".",
        *,
        create_buckets: bool = True,
        fsync: bool = True,
        min_part_size: int | None = None,
        max_parts: int | None = None,
        etag: str = "md5",
    ) -> None:
        """Store objects under ``root``."""
        if etag not in _ETAGS:
            raise s3po.ConfigError(f"etag must be one of {_ETAGS}, not {etag!r}")
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.create_buckets = create_buckets
        self.fsync = fsync
        self.etag = etag
        # A key segment becomes a file name, and its metadata file adds ".json".
        try:
            name_max = os.pathconf(self.root, "PC_NAME_MAX")
        except (AttributeError, OSError, ValueError):
            name_max = 255
        self._max_segment = name_max - len(".json")
        if min_part_size is not None or max_parts is not None:
            self.capabilities = Capabilities(
                min_part_size=min_part_size or Capabilities().min_part_size,
                max_parts=max_parts or Capabilities().max_parts,
            )

    def __repr__(self) -> str:
        """Show the root."""
        return f"LocalBackend({str(self.root)!r})"

    # -- paths ----------------------------------------------------------------------------

    def _bucket(self, bucket: str, *, create: bool = False) -> Path:
        s3po.check_bucket(bucket)
        path = self.root / bucket
        if not path.is_dir():
            if create:
                path.mkdir(parents=True, exist_ok=True)
            else:
                raise s3po.NoSuchBucket(
                    f"bucket {bucket!r} does not exist under {self.root}; create it with "
                    "create_bucket()",
                    bucket=bucket,
                    backend=self.name,
                )
        return path

    def _parts(self, bucket: str, key: str) -> list[str]:
        s3po.check_key(key)
        parts = key.split("/")
        for part in parts:
            if part in {"", ".", ".."} or part.startswith((_TMP, _META_DIR)):
                why = (
                    "would escape the local root"
                    if part in {".", ".."} or key.startswith("/")
                    else "has an empty path segment, which a filesystem cannot hold"
                    if part == ""
                    else "uses a name the local backend reserves"
                )
                raise s3po.InvalidKey(f"key {key!r} {why} (bucket {bucket!r})")
            if len(part.encode("utf-8")) > self._max_segment:
                raise s3po.InvalidKey(
                    f"key {key!r} has a path segment longer than {self._max_segment} bytes, "
                    f"which the local backend cannot store as a file name (bucket {bucket!r})"
                )
        return parts

    def _paths(self, bucket: str, key: str, *, create: bool = False) -> tuple[Path, Path]:
        parts = self._parts(bucket, key)
        base = self._bucket(bucket, create=create and self.create_buckets)
        data = base.joinpath(*parts)
        # Folders of the metadata tree end in ".d" and files in ".json", so key "a" and
        # keys under "a.json/" never collide there.
        folders = [f"{p}.d" for p in parts[:-1]]
        meta = self.root.joinpath(_META_DIR, "meta", bucket, *folders, parts[-1] + ".json")
        if not str(data.resolve()).startswith(str(base.resolve()) + os.sep):
            raise s3po.InvalidKey(f"key {key!r} would escape the local root (bucket {bucket!r})")
        return data, meta

    # -- helpers --------------------------------------------------------------------------

    def _write_atomic(
        self, target: Path, body: UploadBody, bucket: str, key: str, *, durable: bool = True
    ) -> tuple[int, str]:
        """Write ``body`` to ``target`` atomically; return the size and the ETag.

        A file window is copied inside the kernel; anything else is read and written.
        """
        md5 = hashlib.md5() if self.etag == "md5" else None  # noqa: S324 - S3's ETag is an MD5
        size = 0

        def fill(out: IO[bytes]) -> None:
            nonlocal size
            if isinstance(body, FileWindow):
                if md5 is not None:
                    for view in body.views():
                        md5.update(view)
                size = _copy_window(body, out, 0)
                return
            for chunk in _chunks(body):
                if md5 is not None:
                    md5.update(chunk)
                out.write(chunk)
                size += len(chunk)

        self._write_with(target, fill, bucket, key, durable=durable)
        return size, md5.hexdigest() if md5 is not None else uuid.uuid4().hex

    def _write_with(
        self,
        target: Path,
        fill: Callable[[IO[bytes]], None],
        bucket: str,
        key: str,
        *,
        durable: bool = True,
    ) -> None:
        """Let ``fill`` write a temporary file, then fsync and rename it to ``target``.

        ``durable=False`` skips the fsync (with ``fsync`` on): for part files, which only
        stage bytes for the object that completing the upload writes, and fsyncs.
        """
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise s3po.InvalidKey(
                f"key {key!r} needs a folder where an object is stored in bucket {bucket!r}; "
                "the local backend cannot hold both 'a' and 'a/b'"
            ) from None
        if target.is_dir():
            raise s3po.InvalidKey(
                f"key {key!r} names a folder of other keys in bucket {bucket!r}; "
                "the local backend cannot hold both 'a' and 'a/b'"
            )
        tmp = target.parent / f"{_TMP}{uuid.uuid4().hex}"
        try:
            with tmp.open("wb") as out:
                fill(out)
                if self.fsync and durable:
                    out.flush()
                    os.fsync(out.fileno())
            tmp.replace(target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _write_json(self, target: Path, data: dict[str, Any]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f"{_TMP}{uuid.uuid4().hex}"
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(target)

    def _record(
        self, bucket: str, key: str, meta: Path, size: int, etag: str, headers: Headers
    ) -> ObjectInfo:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        record = {
            "size": size,
            "etag": etag,
            "last_modified": now.isoformat(),
            "headers": emulation.headers_to_record(
                headers, default_type=emulation.DEFAULT_CONTENT_TYPE
            ),
        }
        self._write_json(meta, record)
        return self._info(bucket, key, record)

    @staticmethod
    def _info(bucket: str, key: str, record: dict[str, Any]) -> ObjectInfo:
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=record["size"],
            etag=record["etag"],
            last_modified=dt.datetime.fromisoformat(record["last_modified"]),
            headers=emulation.headers_from_record(record["headers"]),
        )

    def _load(self, bucket: str, key: str) -> tuple[Path, dict[str, Any]]:
        data, meta = self._paths(bucket, key)
        try:
            record = json.loads(meta.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            # IsADirectoryError: the metadata of key "a" collides with the folder of keys
            # "a.json/..."; the object is then unreadable, but the bucket still lists.
            record = None
        if record is None or not data.is_file():
            raise s3po.NoSuchKey(
                f"no object {key!r} in bucket {bucket!r}", bucket=bucket, key=key, backend=self.name
            )
        return data, record

    # -- the Backend interface ------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Return the object's information."""
        _, record = self._load(bucket, key)
        return self._info(bucket, key, record)

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
        _tries: int = 3,
    ) -> GetResult:
        """Open the object's bytes ``[start, end)``."""
        data, record = self._load(bucket, key)
        size = record["size"]
        start, stop = emulation.read_range(
            record["etag"], size, start, end, if_match, bucket, key, self.name
        )
        stream = data.open("rb")
        actual = os.fstat(stream.fileno()).st_size
        if actual != size:
            stream.close()
            if _tries <= 1:
                # Not a write in progress (those are atomic): the file was changed by hand.
                raise s3po.CorruptData(
                    f"the stored file {data} has {actual} bytes, not the {size} its metadata "
                    "records; it was changed outside s3po",
                    bucket=bucket,
                    key=key,
                    backend=self.name,
                )
            return self.get(bucket, key, start=start, end=end, if_match=if_match, _tries=_tries - 1)
        stream.seek(start)
        body = _FileBody(stream, stop - start)
        return GetResult(info=self._info(bucket, key, record), body=body, start=start, end=stop)

    def put(
        self,
        bucket: str,
        key: str,
        body: UploadBody,
        *,
        headers: Headers,
        size: int | None = None,  # noqa: ARG002 - files need no size hint
    ) -> ObjectInfo:
        """Store the object atomically."""
        data, meta = self._paths(bucket, key, create=True)
        try:
            stored, etag = self._write_atomic(data, body, bucket, key)
        except PermissionError as exc:
            raise s3po.AccessDenied(
                f"cannot write {data}: {exc.strerror}", bucket=bucket, key=key, backend=self.name
            ) from exc
        return self._record(bucket, key, meta, stored, etag, headers)

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object; a missing key is not an error."""
        data, meta = self._paths(bucket, key)
        for path in (meta, data):
            try:
                path.unlink()
            except (FileNotFoundError, NotADirectoryError):
                pass
            except IsADirectoryError:
                return
        base = self.root / bucket
        parent = data.parent
        while parent != base and parent.is_dir():
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def list(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str | None = None,
        *,
        start_after: str | None = None,
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """Yield objects and common prefixes under ``prefix``, in S3's key order."""
        base = self._bucket(bucket)

        def describe(key: str) -> ObjectInfo | None:
            try:
                return self.head(bucket, key)
            except s3po.NoSuchKey:
                return None

        return emulation.fold_listing(
            self._walk(base, prefix), prefix, delimiter, describe, start_after=start_after
        )

    def _walk(self, base: Path, prefix: str) -> Iterator[str]:
        folder, _, _ = prefix.rpartition("/")
        start = base.joinpath(*folder.split("/")) if folder else base
        if ".." in folder.split("/") or not start.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if not d.startswith(_TMP)]
            rel = Path(dirpath).relative_to(base).as_posix()
            for name in filenames:
                if name.startswith(_TMP):
                    continue
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix):
                    yield key

    def create_bucket(self, bucket: str) -> None:
        """Create the bucket folder."""
        self._bucket(bucket, create=True)

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        headers: Headers | None = None,
    ) -> ObjectInfo:
        """Copy an object; ``headers`` replace the source's if given."""
        source = self.get(src_bucket, src_key)
        with source:
            return self.put(
                bucket,
                key,
                source.body,
                headers=headers or source.info.headers,
            )

    # -- multipart ------------------------------------------------------------------------

    def _upload_dir(self, bucket: str, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise s3po.NoSuchUpload(f"no multipart upload {upload_id!r}", bucket=bucket)
        return self.root / _META_DIR / "uploads" / bucket / upload_id

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        """Begin an upload: a folder of parts under ``root/.s3po/uploads``."""
        self._paths(bucket, key, create=True)
        upload_id = uuid.uuid4().hex
        folder = self._upload_dir(bucket, upload_id)
        folder.mkdir(parents=True)
        self._write_json(
            folder / "upload.json",
            {
                "key": key,
                "initiated": dt.datetime.now(dt.UTC).isoformat(),
                "headers": emulation.headers_to_record(headers),
            },
        )
        return upload_id

    def _upload(self, bucket: str, key: str, upload_id: str) -> tuple[Path, dict[str, Any]]:
        folder = self._upload_dir(bucket, upload_id)
        try:
            info = json.loads((folder / "upload.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            info = None
        if info is None or info["key"] != key:
            raise s3po.NoSuchUpload(
                f"no multipart upload {upload_id!r} (aborted or completed already)",
                bucket=bucket,
                key=key,
                backend=self.name,
            )
        return folder, info

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: PartBody
    ) -> PartInfo:
        """Store one part."""
        folder, _ = self._upload(bucket, key, upload_id)
        emulation.check_part_number(part_number, self.capabilities, bucket, key, self.name)
        part = folder / f"part-{part_number:05d}"
        # Parts are staging: the object they make is fsynced when the upload completes, and
        # an upload cut off by a crash could not be completed anyway (the uploader runs here).
        size, etag = self._write_atomic(part, data, bucket, key, durable=False)
        part.with_suffix(".md5").write_text(etag, encoding="ascii")
        return PartInfo(part_number, etag, size)

    def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[PartInfo]
    ) -> ObjectInfo:
        """Join the parts, checking S3's rules, and store the object atomically."""
        folder, info = self._upload(bucket, key, upload_id)
        self._check_plan(bucket, key, folder, parts)
        digests: list[bytes] = []
        for part in parts:
            stored = (folder / f"part-{part.part_number:05d}.md5").read_text(encoding="ascii")
            if part.etag.strip('"') != stored:
                raise s3po.InvalidPart(
                    f"part {part.part_number} has ETag {stored!r}, not {part.etag!r}",
                    bucket=bucket,
                    key=key,
                    backend=self.name,
                )
            digests.append(bytes.fromhex(stored))
        size = 0

        def join(out: IO[bytes]) -> None:
            nonlocal size
            for part in parts:
                with (folder / f"part-{part.part_number:05d}").open("rb") as src:
                    window = FileWindow(src.fileno(), 0, os.fstat(src.fileno()).st_size)
                    size += _copy_window(window, out, size)

        data, meta = self._paths(bucket, key)
        self._write_with(data, join, bucket, key)
        if self.etag == "md5":
            etag = emulation.multipart_etag(digests)
        else:
            etag = f"{uuid.uuid4().hex}-{len(parts)}"
        result = self._record(
            bucket, key, meta, size, etag, emulation.headers_from_record(info["headers"])
        )
        shutil.rmtree(folder, ignore_errors=True)
        return result

    def _check_plan(self, bucket: str, key: str, folder: Path, parts: Sequence[PartInfo]) -> None:
        def size(number: int) -> int | None:
            path = folder / f"part-{number:05d}"
            return path.stat().st_size if path.is_file() else None

        emulation.check_part_plan(
            parts,
            size,
            self.capabilities,
            lambda why: s3po.InvalidPart(why, bucket=bucket, key=key, backend=self.name),
        )

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard the upload's parts."""
        folder, _ = self._upload(bucket, key, upload_id)
        shutil.rmtree(folder, ignore_errors=True)

    def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """Yield incomplete uploads under ``prefix``."""
        self._bucket(bucket)
        folder = self.root / _META_DIR / "uploads" / bucket
        if not folder.is_dir():
            return
        found = []
        for entry in folder.iterdir():
            try:
                info = json.loads((entry / "upload.json").read_text(encoding="utf-8"))
            except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
                continue
            if info["key"].startswith(prefix):
                found.append(
                    MultipartUpload(
                        bucket,
                        info["key"],
                        entry.name,
                        dt.datetime.fromisoformat(info["initiated"]),
                    )
                )
        yield from sorted(
            found, key=lambda u: (u.key, u.initiated or dt.datetime.min.replace(tzinfo=dt.UTC))
        )

    def close(self) -> None:
        """Nothing to release."""


def _chunks(body: UploadBody) -> Iterator[bytes | bytearray | memoryview]:
    """``body`` in pieces of at most ``_CHUNK`` bytes."""
    if isinstance(body, bytes | bytearray | memoryview):
        yield body
        return
    while chunk := body.read(_CHUNK):
        yield chunk


def _copy_window(window: FileWindow, out: IO[bytes], at: int) -> int:
    """Copy ``window`` into ``out`` at offset ``at``; return the number of bytes copied.

    The copy stays inside the kernel (``os.copy_file_range``) where the OS and filesystems
    allow it, and goes through reads and writes where they do not.
    """
    out.flush()
    dest = out.fileno()
    copied = 0
    try:
        while copied < window.length:
            n = os.copy_file_range(
                window.fd, dest, window.length - copied, window.offset + copied, at + copied
            )
            if n == 0:
                break
            copied += n
    except (OSError, AttributeError):  # not Linux, or a filesystem pair without the call
        window.seek(copied)
        out.seek(at + copied)
        while chunk := window.read(_CHUNK):
            out.write(chunk)
            copied += len(chunk)
    if copied < window.length:
        msg = "the file is shorter than when its upload was planned"
        raise OSError(msg)
    return copied
