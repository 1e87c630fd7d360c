"""The built-in middleware layers, outermost first: integrity, codec, chunking, retry.

Each layer is a :class:`~s3po.ForwardingBackend` that overrides only the calls it changes,
so a layer of your own slots in the same way (see ``TransferConfig.middleware``).
``Chunking`` is the multipart (``multipart.py``) and ranged (``ranged.py``) layers in one.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from s3po import _lazy

if TYPE_CHECKING:
    from s3po.middleware.chunking import Chunking, part_size_for
    from s3po.middleware.codec import CodecLayer
    from s3po.middleware.integrity import Integrity
    from s3po.middleware.multipart import Multipart
    from s3po.middleware.ranged import Ranged
    from s3po.middleware.retry import Retry

#: Where each public name lives; it is imported on first use (see :mod:`s3po._lazy`).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "s3po.middleware.chunking": ("Chunking", "part_size_for"),
    "s3po.middleware.codec": ("CodecLayer",),
    "s3po.middleware.integrity": ("Integrity",),
    "s3po.middleware.multipart": ("Multipart",),
    "s3po.middleware.ranged": ("Ranged",),
    "s3po.middleware.retry": ("Retry",),
}

__all__ = ["Chunking", "CodecLayer", "Integrity", "Multipart", "Ranged", "Retry", "part_size_for"]

_WHERE = _lazy.invert(_EXPORTS)


def __getattr__(name: str) -> Any:  # noqa: ANN401 - whichever name is asked for
    """Import a public name on first use."""
    return _lazy.resolve(__name__, _WHERE, name)


def __dir__() -> list[str]:
    """The public names, imported or not."""
    return _lazy.listing(__name__, __all__)
