"""The fsspec backend's edge: a filesystem's exceptions become s3po's.

fsspec filesystems raise the builtin OS errors (``FileNotFoundError``, ``PermissionError``,
...) and the network ones of their transport (``ConnectionError``, ``TimeoutError``);
:func:`fs_errors` turns each into the typed s3po error naming the bucket and key, so nothing
untyped leaves the backend.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import s3po

__all__ = ["fs_errors"]


@contextlib.contextmanager
def fs_errors(bucket: str, key: str | None, doing: str = "access") -> Iterator[None]:
    """Translate a filesystem error raised inside into s3po's, ``raise ... from exc``.

    A missing path is :class:`~s3po.NoSuchKey`; a refusal :class:`~s3po.AccessDenied`;
    a connection failure or timeout :class:`~s3po.TransientError` (worth repeating); any
    other OSError a :class:`~s3po.BackendError`. s3po's own errors pass unchanged.
    """
    where = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    context = {"bucket": bucket, "key": key, "backend": "fsspec"}
    try:
        yield
    except s3po.S3poError:
        raise
    except FileNotFoundError as exc:
        raise s3po.NoSuchKey(f"no object {key!r} in bucket {bucket!r}", **context) from exc
    except PermissionError as exc:
        raise s3po.AccessDenied(f"access denied: {exc}", **context) from exc
    except (ConnectionError, TimeoutError) as exc:
        raise s3po.TransientError(f"the filesystem failed: {exc}", **context) from exc
    except OSError as exc:
        raise s3po.BackendError(
            f"cannot {doing} {where}: the filesystem refused ({type(exc).__name__}: {exc})",
            **context,
        ) from exc
