"""The ``local`` backend, :class:`LocalBackend`: see :mod:`s3po_local` for how it works."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import s3po
from s3po.backend import (
    ALL_CONDITIONS,
    Capabilities,
    CommonPrefix,
    GetResult,
    Headers,
    MultipartUpload,
    ObjectInfo,
    PartBody,
    PartInfo,
    WriteCondition,
    emulation,
)
from s3po.backend.admin import BucketInfo
from s3po.backend.multipart import MultipartEmulation

from ._files import FileBody, folder_lock, os_errors
from ._parts import LocalParts
from ._records import XATTR, Records
from ._store import META_DIR, Store, when

if TYPE_CHECKING:
    from s3po.backend import UploadBody

__all__ = ["LocalBackend"]

log = logging.getLogger(__name__)

_ETAGS = ("md5", "opaque")


class LocalBackend(Store):
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
    capabilities = Capabilities(conditions=ALL_CONDITIONS)

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
                conditions=ALL_CONDITIONS,
            )
        self._records = Records(self.root / META_DIR, fsync=fsync)
        self._legacy = (self.root / META_DIR / "meta").is_dir()
        self._probe_xattrs()
        self._multipart = MultipartEmulation(
            LocalParts(
                lambda bucket: self._meta(bucket) / "uploads" / bucket, self._store, self.root
            ),
            backend=self.name,
            capabilities=self.capabilities,
            etag="md5" if etag == "md5" else "opaque",
        )

    def _probe_xattrs(self) -> None:
        """Refuse a root whose filesystem cannot hold records (user extended attributes).

        Asking for a record on the root folder itself touches nothing: a filesystem that has
        them answers "no such attribute", one that has none "not supported".
        """
        try:
            os.getxattr(self.root, XATTR)
        except OSError as exc:
            if exc.errno in {errno.ENOTSUP, errno.EOPNOTSUPP}:
                raise s3po.ConfigError(
                    f"the filesystem holding {self.root} does not support user extended "
                    f"attributes ({exc.strerror}), where the local backend keeps each "
                    "object's record; choose a root on ext4, xfs, btrfs, zfs or tmpfs "
                    "(Linux 6.6+), or mount it with user_xattr"
                ) from exc

    def __repr__(self) -> str:
        """Show the root."""
        return f"LocalBackend({str(self.root)!r})"

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

    def put(
        self,
        bucket: str,
        key: str,
        body: UploadBody,
        *,
        headers: Headers,
        size: int | None = None,  # noqa: ARG002 - files need no size hint
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Store the object: one rename commits the body and its record together.

        ``condition`` is checked under the folder's ``flock`` in the step that renames
        (``If-None-Match`` by a no-replace ``link(2)``), so it holds between threads and
        processes.
        """
        fill, etag, window = self._filler(body)
        return self._store(bucket, key, fill, etag, headers, window, condition)

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object; a missing key is not an error."""
        data, meta = self._paths(bucket, key)
        if self._legacy:
            self._meta(bucket, key)
        ref = self._records.ref_of(data)
        for path in (data, meta):
            with os_errors("delete", path, bucket, key):
                try:
                    # Under the folder's lock, as commits rename: a conditional write's
                    # check and rename never straddle a delete.
                    with folder_lock(path.parent) if path is data else contextlib.nullcontext():
                        path.unlink()
                except (FileNotFoundError, NotADirectoryError):
                    pass
                except IsADirectoryError:
                    return
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

    def create_bucket(self, bucket: str) -> None:
        """Create the bucket folder."""
        self._bucket(bucket, create=True)

    def list_buckets(self) -> Iterator[BucketInfo]:
        """Yield the bucket folders under the root, by name."""
        for path in sorted(self.root.iterdir()):
            if path.name == META_DIR or not path.is_dir() or path.is_symlink():
                continue
            try:
                s3po.check_bucket(path.name)
            except s3po.InvalidBucketName:
                continue  # a folder no bucket could be named after
            yield BucketInfo(path.name, when(path.stat().st_mtime))

    def delete_bucket(self, bucket: str) -> None:
        """Remove the bucket folder, refused while it holds any file or incomplete upload."""
        base = self._bucket(bucket)
        uploads = self._meta(bucket) / "uploads" / bucket
        held = next(self._walk(base, "", bucket), None) or next(
            self._walk(base, "", bucket, staging=True), None
        )
        if held is None and uploads.is_dir() and any(uploads.iterdir()):
            held = "an incomplete multipart upload"
        if held is not None:
            raise s3po.BackendError(
                f"bucket {bucket!r} under {self.root} is not empty (it holds {held}); "
                "delete its objects and abort its uploads first",
                bucket=bucket,
                backend=self.name,
            )
        with os_errors("delete the bucket folder", base, bucket, None):
            for dirpath, _, _ in sorted(os.walk(base), key=lambda d: -len(d[0])):
                Path(dirpath).rmdir()
            for leftover in (self._records.folder(bucket), uploads):
                shutil.rmtree(leftover, ignore_errors=True)

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

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        """Begin an upload: a folder of parts under ``root/.s3po/uploads``."""
        self._paths(bucket, key, create=True)
        return self._multipart.start(bucket, key, headers)

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: PartBody
    ) -> PartInfo:
        """Store one part, committed with its ETag (in its xattr) by one rename."""
        return self._multipart.put_part(bucket, key, upload_id, part_number, data)

    def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[PartInfo],
        *,
        condition: WriteCondition | None = None,
    ) -> ObjectInfo:
        """Join the parts, checking S3's rules, and commit the object with one rename.

        ``condition`` is checked as for :meth:`put`, as the object is renamed into place.
        """
        return self._multipart.complete(bucket, key, upload_id, parts, condition=condition)

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard the upload's parts (or a staging file or record file a crash left)."""
        if upload_id.startswith(("staging", "record")):
            self._remove_leftover(bucket, key, upload_id)
            return
        self._multipart.abort(bucket, key, upload_id)

    def list_parts(self, bucket: str, key: str, upload_id: str) -> Iterator[PartInfo]:
        """The stored parts of an upload (ListParts).

        .. versionadded:: 0.4.0
        """
        return self._multipart.parts(bucket, key, upload_id)

    def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
        """Yield incomplete uploads under ``prefix``, and what crashed writes left.

        A staging file is listed as ``<folder>/.s3po-tmp-<id>`` with upload id
        ``staging<id>``, and a record file no object refers to as its key with upload id
        ``record<version>``; both started when the file was last written, and aborting
        them removes them (what ``cleanup`` does with those older than it is told). An
        upload cut off as it began is listed as ``.s3po/uploads/<id>``.
        """
        base = self._bucket(bucket)
        found = [*self._leftovers(base, bucket, prefix), *self._multipart.uploads(bucket, prefix)]
        earliest = dt.datetime.min.replace(tzinfo=dt.UTC)
        yield from sorted(found, key=lambda u: (u.key, u.initiated or earliest))

    def close(self) -> None:
        """Nothing to release."""
