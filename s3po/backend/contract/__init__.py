"""The backend contract suite, one mixin per feature, as fsspec's ``tests/abstract`` is split.

A backend's tests subclass :class:`BackendContract` (every feature), or only the mixins for
the features it has, so that leaving one out is an explicit, visible choice::

    from s3po.backend.contract import ListingContract, ObjectsContract

    class TestReadMostlyBackend(ObjectsContract, ListingContract):  # no multipart
        @pytest.fixture
        def backend(self): ...
        @pytest.fixture
        def bucket(self, backend): ...

Each mixin expects the fixtures ``backend`` (a fresh :class:`~s3po.Backend`) and ``bucket``
(an existing, empty bucket on it), and honours ``md5_etags = False`` for opaque ETags.

- :class:`ObjectsContract`: PUT (bytes, streams, file windows), GET (ranged, If-Match),
  HEAD, DELETE, COPY, headers and metadata, odd keys, a string through every codec.
- :class:`ListingContract`: order, prefixes, delimiters, listings past one page.
- :class:`MultipartContract`: start, parts, complete, abort and S3's refusals.
- :class:`ConcurrencyContract`: many threads at once; parts side by side.
- :class:`CutOffBodyContract`: downloads abandoned part-way, uploads whose source fails.
- :class:`ConditionalWritesContract`: If-None-Match and If-Match on PUT and Complete, and
  threads racing to create one key (what a backend does not declare is proven refused).

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from s3po.backend.contract._base import ContractBase, md5_etag, multipart_etag, sample
from s3po.backend.contract.concurrency import ConcurrencyContract
from s3po.backend.contract.conditions import ConditionalWritesContract
from s3po.backend.contract.cutoff import CutOffBodyContract
from s3po.backend.contract.listing import ListingContract
from s3po.backend.contract.multipart import MultipartContract
from s3po.backend.contract.objects import ObjectsContract

__all__ = [
    "BackendContract",
    "ConcurrencyContract",
    "ConditionalWritesContract",
    "ContractBase",
    "CutOffBodyContract",
    "ListingContract",
    "MultipartContract",
    "ObjectsContract",
    "md5_etag",
    "multipart_etag",
    "sample",
]


class BackendContract(
    ObjectsContract,
    ListingContract,
    MultipartContract,
    ConcurrencyContract,
    CutOffBodyContract,
    ConditionalWritesContract,
):
    """The behaviour every full backend must show: all the feature mixins together.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Composed of per-feature mixins (see :mod:`s3po.backend.contract`).
    .. versionchanged:: 0.4.0
       With :class:`ConditionalWritesContract`.
    """
