"""The local-filesystem backend: S3's semantics on a folder, for tests and dry runs.

Buckets are folders under ``root`` and keys are paths below them, so the stored objects are
plain files you can open. What S3 keeps beside the bytes (size, ETag, time, Content-Type,
Content-Encoding, user metadata) is the object's *record*: JSON in the extended attribute
``user.s3po`` of the file itself. A record too large for an attribute (ext4 holds about
4 KB per inode) lives in an immutable file ``root/.s3po/records/<bucket>/<version>.json``
named by a fresh version id, and the attribute holds ``{"ref": version}``.

The commit protocol, for a put and for completing a multipart upload alike:

1. create a staging file ``.s3po-tmp-<id>`` in the key's folder (remade if a concurrent
   delete removed the folder);
2. write the body into it (a file window is copied inside the kernel, then its source is
   checked unchanged, else :class:`~s3po.SourceChanged` and nothing is committed);
3. set the record on it (``fsetxattr``; a large record's file is written and fsynced first);
4. fsync it; 5. ``os.replace`` it onto the key, the one commit step; 6. fsync the folder.

A reader opens the file once and takes ``fstat`` and ``fgetxattr`` from that descriptor,
so the body and the record it sees are always of one version: the last writer wins with its
own record, and a crash at any step leaves the old version or the new one whole. A damaged
record raises :class:`~s3po.CorruptData` for its key only; listings go on and list such a key
with its file's size and an empty ETag (a sync then replaces it), logging a warning. A file
with no record (dropped in by hand) and a symbolic link are not objects. Staging files a
crash leaves are listed as incomplete uploads, ``<folder>/.s3po-tmp-<id>`` with upload id
``staging<id>`` (and unreferenced record files as ``record<version>``), so ``cleanup``
removes them. Stores written before 0.2 (records as JSON under ``root/.s3po/meta/``) stay
readable; a put or delete replaces their JSON record. Copy a store with its extended
attributes (``cp -a``, ``rsync -X``, ``tar --xattrs``): a file that lost its record is no
object. A filesystem without user extended attributes is refused with a ConfigError.

Multipart uploads obey S3's limits (parts of at least 5 MiB but the last, at most 10,000
parts) so that code tested here behaves the same on S3; their parts are staged under
``root/.s3po/uploads/``, each part committed with its ETag the same way. A key that would
escape the root (``..``, an absolute path) or that a filesystem cannot hold (an empty path
segment) raises :class:`~s3po.InvalidKey`; a bucket folder, key folder or ``.s3po`` that is a
symbolic link out of the root raises :class:`~s3po.AccessDenied`. The disk's refusals
(ENOSPC, EIO, EROFS...) raise :class:`~s3po.BackendError` naming the key and the path.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import logging
import os
import shutil
import stat
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import s3po
from s3po import (
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

from ._files import TMP, FileBody, chunks, commit, copy_window, store_error, write_all
from ._records import (
    XATTR,
    Records,
    RecordGone,
    corrupt,
    info_from,
    make_record,
    read_legacy,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from s3po._types import UploadBody

__all__ = ["LocalBackend", "s3po_register_backends"]

log = logging.getLogger(__name__)

_META_DIR = ".s3po"
_ETAGS = ("md5", "opaque")
_OPEN_TRIES = 3


@s3po.hookimpl
def s3po_register_backends(registry: s3po.BackendRegistry) -> None:
    """Register the ``local`` backend."""
    registry.register("local", LocalBackend)


class LocalBackend:
    """Objects stored as files under ``root``, each committed with its record in one rename.

    Args:
        root: The folder holding the buckets (created if missing).
        create_buckets: Create a missing bucket on first write (default True, so a fresh
            root works at once); False refuses writes to it with NoSuchBucket, as S3 does.
            Reads of a missing bucket raise NoSuchBucket either way.
        fsync: Flush objects (and their folder, after the rename) to disk as part of the
            commit (default True). Multipart part files are staging and are not flushed;
            the object they make is.
        etag: ``"md5"`` (default): ETags as S3 computes them, the MD5 of the bytes (of the
            part MD5s, with ``-N``, for multipart uploads). ``"opaque"``: a random 128-bit
            hex token per write (``-N`` kept for multipart), so storing costs no hashing and
            file uploads are copied inside the kernel. ETags still change with every write
            and If-Match works, but equal bytes no longer mean equal ETags; for scratch
            stores and dry runs of large data, not for tests that compare ETags to MD5s.
        min_part_size: Smallest part but the last (S3: 5 MiB).
        max_parts: Most parts per upload (S3: 10,000).

    Raises:
        ConfigError: ``etag`` is unknown, or the filesystem under ``root`` has no user
            extended attributes (where the records live).

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
        # A key segment becomes a file name, and in stores from before 0.2 its record's
        # file name adds ".json".
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
        self._records = Records(self.root / _META_DIR, fsync=fsync)
        self._legacy = (self.root / _META_DIR / "meta").is_dir()
        self._probe_xattrs()

    def _probe_xattrs(self) -> None:
        """Refuse a root whose filesystem cannot hold records (user extended attributes)."""
        probe = self.root / f"{TMP}probe-{uuid.uuid4().hex}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError:  # a read-only root: reads need no probe, writes fail typed
            return
        try:
            os.setxattr(fd, XATTR, b"{}")
        except OSError as exc:
            if exc.errno in {errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM}:
                raise s3po.ConfigError(
                    f"the filesystem holding {self.root} does not support user extended "
                    f"attributes ({exc.strerror}), where the local backend keeps each "
                    "object's record; choose a root on ext4, xfs, btrfs, zfs or tmpfs "
                    "(Linux 6.6+), or mount it with user_xattr"
                ) from exc
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)

    def __repr__(self) -> str:
        """Show the root."""
        return f"LocalBackend({str(self.root)!r})"

    # -- paths ----------------------------------------------------------------------------

    def _inside(self, path: Path, bucket: str, key: str | None) -> None:
        """Refuse ``path`` unless it resolves inside the root and outside ``.s3po``."""
        real = path.resolve()
        if real == self.root or not real.is_relative_to(self.root):
            raise s3po.AccessDenied(
                f"{path} resolves to {real}, outside the local root {self.root} (a symbolic "
                "link?); the local backend does not follow links out of its root",
                bucket=bucket,
                key=key,
                backend=self.name,
            )
        if real.is_relative_to(self.root / _META_DIR) and not path.is_relative_to(
            self.root / _META_DIR
        ):
            raise s3po.AccessDenied(
                f"{path} resolves into the local backend's own folder {self.root / _META_DIR}",
                bucket=bucket,
                key=key,
                backend=self.name,
            )

    def _meta(self, bucket: str, key: str | None = None) -> Path:
        """``root/.s3po``, refused if it is a link out of the root."""
        meta = self.root / _META_DIR
        if meta.resolve() != meta:
            raise s3po.AccessDenied(
                f"{meta} is a symbolic link to {meta.resolve()}; the local backend keeps its "
                "own state only inside its root",
                bucket=bucket,
                key=key,
                backend=self.name,
            )
        return meta

    def _bucket(self, bucket: str, *, create: bool = False) -> Path:
        s3po.check_bucket(bucket)
        path = self.root / bucket
        if not path.is_dir():
            if not create:
                raise s3po.NoSuchBucket(
                    f"bucket {bucket!r} does not exist under {self.root}; create it with "
                    "create_bucket()",
                    bucket=bucket,
                    backend=self.name,
                )
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise store_error(exc, "create the bucket folder", path, bucket, None) from exc
        self._inside(path, bucket, None)
        return path

    def _parts(self, bucket: str, key: str) -> list[str]:
        s3po.check_key(key)
        parts = key.split("/")
        for part in parts:
            if part in {"", ".", ".."} or part.startswith((TMP, _META_DIR)):
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
        """The object's file and (for stores from before 0.2) its JSON record's path."""
        parts = self._parts(bucket, key)
        base = self._bucket(bucket, create=create and self.create_buckets)
        data = base.joinpath(*parts)
        # The folder must not lead out of the root; the file itself is never followed
        # (reads open it with O_NOFOLLOW, a rename or unlink replaces a link, not its target).
        self._inside(data.parent, bucket, key)
        # Folders of the old record tree end in ".d" and files in ".json", so key "a" and
        # keys under "a.json/" never collide there.
        folders = [f"{p}.d" for p in parts[:-1]]
        meta = self.root.joinpath(_META_DIR, "meta", bucket, *folders, parts[-1] + ".json")
        return data, meta

    # -- reading --------------------------------------------------------------------------

    def _no_key(self, bucket: str, key: str) -> s3po.NoSuchKey:
        return s3po.NoSuchKey(
            f"no object {key!r} in bucket {bucket!r}", bucket=bucket, key=key, backend=self.name
        )

    def _open(self, bucket: str, key: str) -> tuple[int, ObjectInfo]:
        """Open the object; its descriptor and the record read from that descriptor."""
        data, meta = self._paths(bucket, key)
        if self._legacy:
            self._meta(bucket, key)
        for _ in range(_OPEN_TRIES):
            try:
                fd = os.open(data, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            except (FileNotFoundError, NotADirectoryError):
                raise self._no_key(bucket, key) from None
            except OSError as exc:
                if exc.errno == errno.ELOOP:  # a symbolic link is not an object
                    raise self._no_key(bucket, key) from None
                raise store_error(exc, "open", data, bucket, key) from exc
            try:
                info = self._describe_fd(fd, data, meta, bucket, key)
            except RecordGone:  # replaced since we opened it: open the new version
                os.close(fd)
                continue
            except BaseException:
                os.close(fd)
                raise
            return fd, info
        raise corrupt(bucket, key, "its record file keeps disappearing")

    def _describe_fd(self, fd: int, data: Path, meta: Path, bucket: str, key: str) -> ObjectInfo:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise self._no_key(bucket, key)
        try:
            record = self._records.read(fd, bucket, key)
        except OSError as exc:
            raise store_error(exc, "read the record of", data, bucket, key) from exc
        if record is None and self._legacy:
            record = read_legacy(meta, bucket, key)
        if record is None:
            raise self._no_key(bucket, key)
        info = info_from(bucket, key, record)
        if info.size != st.st_size:
            raise s3po.CorruptData(
                f"the stored file {data} has {st.st_size} bytes, not the {info.size} its "
                "record says; it was changed outside s3po: upload it again, or delete it",
                bucket=bucket,
                key=key,
                backend=self.name,
            )
        return info

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Return the object's information."""
        fd, info = self._open(bucket, key)
        os.close(fd)
        return info

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> GetResult:
        """Open the object's bytes ``[start, end)``."""
        fd, info = self._open(bucket, key)
        try:
            start, stop = emulation.read_range(
                info.etag, info.size, start, end, if_match, bucket, key, self.name
            )
            body = FileBody(fd, start, stop - start, bucket, key)
        except BaseException:
            os.close(fd)
            raise
        return GetResult(info=info, body=body, start=start, end=stop)

    # -- writing --------------------------------------------------------------------------

    def _filler(
        self, body: UploadBody
    ) -> tuple[Callable[[int], int], Callable[[], str], FileWindow | None]:
        """How to write ``body`` into a staging file: the fill, its ETag, and its window."""
        md5 = hashlib.md5() if self.etag == "md5" else None  # noqa: S324 - S3's ETag is an MD5

        def etag() -> str:
            return md5.hexdigest() if md5 is not None else uuid.uuid4().hex

        if isinstance(body, FileWindow):
            window = body

            def copy(fd: int) -> int:
                if md5 is not None:
                    for view in window.views():
                        md5.update(view)
                return copy_window(window, fd, 0)

            return copy, etag, window

        def write(fd: int) -> int:
            size = 0
            for chunk in chunks(body):
                if md5 is not None:
                    md5.update(chunk)
                write_all(fd, chunk, size)
                size += len(chunk)
            return size

        return write, etag, None

    def _commit(  # noqa: PLR0913 - one commit's inputs
        self,
        target: Path,
        fill: Callable[[int], int],
        etag: Callable[[], str],
        record: Callable[[int, str], dict[str, Any]],
        bucket: str,
        key: str,
        *,
        window: FileWindow | None = None,
        durable: bool = True,
        make: bool = True,
    ) -> dict[str, Any]:
        """Commit what ``fill(fd) -> size`` writes to ``target``, with its record.

        ``record(size, etag)`` builds the record set on the staging file before its rename;
        a window's source is checked unchanged then. Returns the record.
        """
        state: dict[str, Any] = {}

        def write(fd: int) -> None:
            state["size"] = fill(fd)

        def seal(fd: int) -> None:
            if window is not None:
                window.check_unchanged()
            state["record"] = record(state["size"], etag())
            state["version"] = self._records.seal(fd, bucket, key, state["record"])

        old = self._records.ref_of(target)
        try:
            commit(target, write, seal, bucket, key, durable=durable and self.fsync, make=make)
        except BaseException:
            self._records.drop(bucket, state.get("version"))
            raise
        self._records.drop(bucket, old)
        record_: dict[str, Any] = state["record"]
        return record_

    def _store(
        self,
        bucket: str,
        key: str,
        fill: Callable[[int], int],
        etag: Callable[[], str],
        headers: Headers,
        window: FileWindow | None = None,
    ) -> ObjectInfo:
        data, meta = self._paths(bucket, key, create=True)

        def record(size: int, digest: str) -> dict[str, Any]:
            return make_record(size, digest, headers)

        stored = self._commit(data, fill, etag, record, bucket, key, window=window)
        if self._legacy:
            meta.unlink(missing_ok=True)  # the old JSON record no longer describes the file
        return info_from(bucket, key, stored)

    def put(
        self,
        bucket: str,
        key: str,
        body: UploadBody,
        *,
        headers: Headers,
        size: int | None = None,  # noqa: ARG002 - files need no size hint
    ) -> ObjectInfo:
        """Store the object: one rename commits the body and its record together."""
        fill, etag, window = self._filler(body)
        return self._store(bucket, key, fill, etag, headers, window)

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object; a missing key is not an error."""
        data, meta = self._paths(bucket, key)
        if self._legacy:
            self._meta(bucket, key)
        ref = self._records.ref_of(data)
        for path in (data, meta):
            try:
                path.unlink()
            except (FileNotFoundError, NotADirectoryError):
                pass
            except IsADirectoryError:
                return
            except OSError as exc:
                raise store_error(exc, "delete", path, bucket, key) from exc
        self._records.drop(bucket, ref)
        base = self.root / bucket
        parent = data.parent
        while parent != base:
            try:
                parent.rmdir()
            except OSError:  # not empty, or removed meanwhile by another delete
                break
            parent = parent.parent

    # -- listing --------------------------------------------------------------------------

    def list(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str | None = None,
        *,
        start_after: str | None = None,
    ) -> Iterator[ObjectInfo | CommonPrefix]:
        """Yield objects and common prefixes under ``prefix``, in S3's key order.

        Staging files, symbolic links and files without a record are not objects and are
        not listed. A key whose record is damaged is listed with its file's size and an
        empty ETag (so a sync replaces it), and a warning is logged; head and get of it
        raise CorruptData.
        """
        base = self._bucket(bucket)

        def describe(key: str) -> ObjectInfo | None:
            try:
                return self.head(bucket, key)
            except s3po.NoSuchKey:
                return None
            except (s3po.InvalidRequest, s3po.AccessDenied) as exc:  # not an object s3po made
                log.warning("listing s3://%s/%s: skipped: %s", bucket, key, exc)
                return None
            except s3po.CorruptData as exc:
                log.warning("listing s3://%s/%s: %s", bucket, key, exc)
                try:
                    st = (base / key).lstat()
                except OSError:
                    return None
                return ObjectInfo(
                    bucket=bucket,
                    key=key,
                    size=st.st_size,
                    etag="",
                    last_modified=dt.datetime.fromtimestamp(st.st_mtime, dt.UTC),
                )

        return emulation.fold_listing(
            self._walk(base, prefix, bucket), prefix, delimiter, describe, start_after=start_after
        )

    def _walk(self, base: Path, prefix: str, bucket: str, *, staging: bool = False) -> Iterator[str]:
        """The keys (or, with ``staging``, the staging files) under ``prefix``."""
        folder, _, _ = prefix.rpartition("/")
        start = base.joinpath(*folder.split("/")) if folder else base
        if ".." in folder.split("/") or not start.is_dir() or start.is_symlink():
            return

        def failed(exc: OSError) -> None:
            if not isinstance(exc, FileNotFoundError | NotADirectoryError):  # removed meanwhile
                raise store_error(exc, "list", exc.filename, bucket, None) from exc

        for dirpath, dirnames, filenames in os.walk(start, onerror=failed):
            dirnames[:] = [d for d in dirnames if not d.startswith(TMP)]
            rel = Path(dirpath).relative_to(base).as_posix()
            for name in filenames:
                if name.startswith(TMP) != staging:
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
            return self.put(bucket, key, source.body, headers=headers or source.info.headers)

    # -- multipart ------------------------------------------------------------------------

    def _upload_dir(self, bucket: str, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise s3po.NoSuchUpload(f"no multipart upload {upload_id!r}", bucket=bucket)
        return self._meta(bucket) / "uploads" / bucket / upload_id

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        """Begin an upload: a folder of parts under ``root/.s3po/uploads``."""
        self._paths(bucket, key, create=True)
        upload_id = uuid.uuid4().hex
        folder = self._upload_dir(bucket, upload_id)
        state = {
            "key": key,
            "initiated": dt.datetime.now(dt.UTC).isoformat(),
            "headers": emulation.headers_to_record(headers),
        }
        raw = json.dumps(state).encode()

        def fill(fd: int) -> int:
            write_all(fd, raw, 0)
            return len(raw)

        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise store_error(exc, "create the upload folder", folder, bucket, key) from exc
        # Staging, like the parts: a crash that loses it loses an upload that could not
        # have been completed anyway; a damaged one is listed for cleanup.
        commit(folder / "upload.json", fill, lambda _fd: None, bucket, key, durable=False)
        return upload_id

    def _upload(self, bucket: str, key: str, upload_id: str) -> tuple[Path, dict[str, Any]]:
        folder = self._upload_dir(bucket, upload_id)
        try:
            info = json.loads((folder / "upload.json").read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            info = None
        except (OSError, ValueError) as exc:
            raise s3po.CorruptData(
                f"the state of multipart upload {upload_id!r} is damaged ({exc}); abort it",
                bucket=bucket,
                key=key,
                backend=self.name,
            ) from exc
        if not isinstance(info, dict) or info.get("key") != key:
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
        """Store one part, committed with its ETag (in its xattr) by one rename."""
        folder, _ = self._upload(bucket, key, upload_id)
        emulation.check_part_number(part_number, self.capabilities, bucket, key, self.name)
        fill, etag, window = self._filler(data)

        def record(size: int, digest: str) -> dict[str, Any]:
            return {"etag": digest, "size": size}

        # Parts are staging: the object they make is fsynced when the upload completes, and
        # an upload cut off by a crash could not be completed anyway (the uploader runs here).
        try:
            stored = self._commit(
                folder / f"part-{part_number:05d}",
                fill, etag, record, bucket, key, window=window, durable=False, make=False,
            )
        except s3po.NotFound:
            raise self._gone(bucket, key, upload_id) from None
        return PartInfo(part_number, stored["etag"], stored["size"])

    def _gone(self, bucket: str, key: str, upload_id: str) -> s3po.NoSuchUpload:
        return s3po.NoSuchUpload(
            f"multipart upload {upload_id!r} was aborted or completed meanwhile",
            bucket=bucket,
            key=key,
            backend=self.name,
        )

    def _part_etag(self, fd: int, path: Path, bucket: str, key: str) -> str:
        try:
            etag = json.loads(os.getxattr(fd, XATTR))["etag"]
        except OSError as exc:
            if exc.errno != errno.ENODATA:
                raise
            etag = path.with_suffix(".md5").read_text(encoding="ascii")  # before 0.2
        except (ValueError, KeyError, TypeError) as exc:
            raise corrupt(bucket, key, f"part file {path.name} has a damaged ETag") from exc
        return str(etag)

    def complete_multipart(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[PartInfo]
    ) -> ObjectInfo:
        """Join the parts, checking S3's rules, and commit the object with one rename."""
        folder, info = self._upload(bucket, key, upload_id)
        self._check_plan(bucket, key, folder, parts)
        fds: list[int] = []
        try:
            digests: list[bytes] = []
            for part in parts:
                path = folder / f"part-{part.part_number:05d}"
                fds.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
                stored = self._part_etag(fds[-1], path, bucket, key)
                if part.etag.strip('"') != stored:
                    raise s3po.InvalidPart(
                        f"part {part.part_number} has ETag {stored!r}, not {part.etag!r}",
                        bucket=bucket,
                        key=key,
                        backend=self.name,
                    )
                digests.append(bytes.fromhex(stored) if self.etag == "md5" else b"")

            def join(out: int) -> int:
                size = 0
                for fd in fds:
                    size += copy_window(FileWindow(fd, 0, os.fstat(fd).st_size), out, size)
                return size

            def etag() -> str:
                if self.etag == "md5":
                    return emulation.multipart_etag(digests)
                return f"{uuid.uuid4().hex}-{len(parts)}"

            result = self._store(
                bucket, key, join, etag, emulation.headers_from_record(info["headers"])
            )
        except (FileNotFoundError, NotADirectoryError):
            raise self._gone(bucket, key, upload_id) from None
        except OSError as exc:
            raise store_error(exc, "read the parts of", folder, bucket, key) from exc
        finally:
            for fd in fds:
                os.close(fd)
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
        """Discard the upload's parts (or a staging file or record file a crash left)."""
        if upload_id.startswith(("staging", "record")):
            self._remove_leftover(bucket, key, upload_id)
            return
        if key == f"{_META_DIR}/uploads/{upload_id}":  # an upload cut off as it began
            folder = self._upload_dir(bucket, upload_id)
            if not (folder / "upload.json").is_file():
                shutil.rmtree(folder, ignore_errors=True)
            return
        folder, _ = self._upload(bucket, key, upload_id)
        shutil.rmtree(folder, ignore_errors=True)

    def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """Yield incomplete uploads under ``prefix``, and what crashed writes left.

        A staging file is listed as ``<folder>/.s3po-tmp-<id>`` with upload id
        ``staging<id>``, and a record file no object refers to as its key with upload id
        ``record<version>``; both started when the file was last written, and aborting
        them removes them (what ``cleanup`` does with those older than it is told).
        """
        base = self._bucket(bucket)
        found = list(self._leftovers(base, bucket, prefix))
        folder = self._meta(bucket) / "uploads" / bucket
        entries = list(folder.iterdir()) if folder.is_dir() else []
        for entry in entries:
            try:
                info = json.loads((entry / "upload.json").read_bytes())
                upload_key, initiated = info["key"], info["initiated"]
            except (OSError, ValueError, KeyError, TypeError):  # cut off as it began
                try:
                    mtime = entry.lstat().st_mtime
                except FileNotFoundError:
                    continue
                leftover = f"{_META_DIR}/uploads/{entry.name}"
                if leftover.startswith(prefix):
                    found.append(MultipartUpload(bucket, leftover, entry.name, _when(mtime)))
                continue
            if upload_key.startswith(prefix):
                found.append(
                    MultipartUpload(
                        bucket, upload_key, entry.name, dt.datetime.fromisoformat(initiated)
                    )
                )
        yield from sorted(
            found, key=lambda u: (u.key, u.initiated or dt.datetime.min.replace(tzinfo=dt.UTC))
        )

    def _leftovers(self, base: Path, bucket: str, prefix: str) -> Iterator[MultipartUpload]:
        for rel in self._walk(base, prefix, bucket, staging=True):
            try:
                mtime = (base / rel).lstat().st_mtime
            except FileNotFoundError:  # committed or removed meanwhile
                continue
            upload_id = "staging" + rel.rpartition("/")[2].removeprefix(TMP).replace("-", "")
            yield MultipartUpload(bucket, rel, upload_id, _when(mtime))

        def owner(key: str) -> Path | None:
            try:
                return self._paths(bucket, key)[0]
            except s3po.S3poError:
                return None

        for key, version, mtime in self._records.orphans(bucket, owner):
            if key.startswith(prefix):
                yield MultipartUpload(bucket, key, "record" + version, _when(mtime))

    def _remove_leftover(self, bucket: str, key: str, upload_id: str) -> None:
        if upload_id.startswith("record"):
            version = upload_id.removeprefix("record")
            owner = None if key.startswith(_META_DIR) else self._paths(bucket, key)[0]
            if owner is None or self._records.ref_of(owner) != version:
                self._records.drop(bucket, version)
            return
        folder, _, name = key.rpartition("/")
        if not name.startswith(TMP) or "staging" + name.removeprefix(TMP).replace("-", "") != (
            upload_id
        ):
            raise s3po.NoSuchUpload(f"no staging file {key!r}", bucket=bucket, key=key)
        base = self._bucket(bucket)
        path = base.joinpath(*folder.split("/"), name) if folder else base / name
        self._inside(path, bucket, key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise store_error(exc, "remove the staging file", path, bucket, key) from exc

    def close(self) -> None:
        """Nothing to release."""


def _when(mtime: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(mtime, dt.UTC)
