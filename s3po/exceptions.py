"""The original s3po's exception names, as aliases in the one tree.

The original raised ``UploadException``, ``DownloadException`` and ``DeleteException``, all
``S3POException``; s3po raises typed errors (:class:`~s3po.NoSuchKey`,
:class:`~s3po.AccessDenied`, :class:`~s3po.RetriesExhausted`, ...), every one an
:class:`~s3po.S3poError`. Each old name is :class:`~s3po.S3poError` itself, so::

    try:
        conn.upload("bucket", "key", data)
    except s3po.exceptions.UploadException:
        ...

catches every failure of the upload, whatever the backend, before any I/O or after.

An error class cannot tell which call raised it: the upload's and the download's
:class:`~s3po.RetriesExhausted` are one class (code compares ``type(exc)``), so a class that
catches the one catches the other. The old names therefore no longer tell an upload's
failure from a download's: put one call in each ``try``, or catch the typed errors.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

from s3po.errors import S3poError

__all__ = ["DeleteException", "DownloadException", "S3POException", "UploadException"]

#: Every s3po error (the original: "All of S3PO's exceptions").
S3POException = S3poError
#: Every failure of an upload (and of any other call): :class:`~s3po.S3poError`.
UploadException = S3poError
#: Every failure of a download (and of any other call): :class:`~s3po.S3poError`.
DownloadException = S3poError
#: Every failure of a delete (and of any other call): :class:`~s3po.S3poError`. Deleting a
#: missing key is no failure, as on S3.
DeleteException = S3poError
