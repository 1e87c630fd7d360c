"""Chunking: multipart uploads and parallel ranged downloads for large objects, one layer.

:class:`Chunking` is :class:`~s3po.middleware.multipart.Multipart` (uploads) and
:class:`~s3po.middleware.ranged.Ranged` (downloads) in one layer, as the stack uses it;
each half is its own module.

.. versionadded:: 0.1.0

.. versionchanged:: 0.4.0
   Split into ``multipart.py`` and ``ranged.py``; parts and ranges run on the scope's
   shared pool.
"""

from __future__ import annotations

from s3po.middleware._chunked import part_size_for
from s3po.middleware.multipart import Multipart
from s3po.middleware.ranged import Ranged

__all__ = ["Chunking", "part_size_for"]


class Chunking(Multipart, Ranged):
    """Split large uploads into parts and large downloads into ranges.

    Args:
        inner: The backend below (normally the retry layer).
        config: Threshold, part size and concurrency.
        executor: Run part and range requests here instead of the scope's pool.
        scope: The Connection's or batch's byte budget, cancel switch and shared pool.

    .. versionadded:: 0.1.0
    """
