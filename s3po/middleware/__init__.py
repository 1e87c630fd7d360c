"""The built-in middleware layers, outermost first: integrity, codec, chunking, retry.

Each layer is a :class:`~s3po.ForwardingBackend` that overrides only the calls it changes,
so a layer of your own slots in the same way (see ``TransferConfig.middleware``).
``Chunking`` is the multipart (``multipart.py``) and ranged (``ranged.py``) layers in one.

.. versionadded:: 0.1.0
"""

from s3po.middleware.chunking import Chunking, part_size_for
from s3po.middleware.codec import CodecLayer
from s3po.middleware.integrity import Integrity
from s3po.middleware.multipart import Multipart
from s3po.middleware.ranged import Ranged
from s3po.middleware.retry import Retry

__all__ = ["Chunking", "CodecLayer", "Integrity", "Multipart", "Ranged", "Retry", "part_size_for"]
