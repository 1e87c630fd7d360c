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

The backend itself is in :mod:`s3po_local.backend`, imported when the ``local`` backend is first
used (or ``LocalBackend`` imported from here), so registering the plugin costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import s3po

if TYPE_CHECKING:
    from s3po_local.backend import LocalBackend

__all__ = ["LocalBackend", "s3po_register_backends"]


@s3po.hookimpl
def s3po_register_backends(registry: s3po.BackendRegistry) -> None:
    """Register the ``local`` backend."""
    registry.register("local", "s3po_local.backend:LocalBackend")


def __getattr__(name: str) -> object:
    """``LocalBackend``, imported on first use."""
    if name == "LocalBackend":
        from s3po_local.backend import LocalBackend  # noqa: PLC0415 - on first use

        return LocalBackend
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
