"""The contract for listings: key order, prefixes, delimiters, listings longer than a page.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import s3po
from s3po.backend.contract._base import ContractBase
from s3po.backend.models import CommonPrefix, Headers, ObjectInfo

__all__ = ["ListingContract"]


class ListingContract(ContractBase):
    """``list`` is complete, in S3's key order, filtered and folded as S3 does.

    .. versionadded:: 0.2.0
    """

    #: Threads that store a test's keys: filling is setup, not what is tested, and a
    #: backend is safe to call from many threads (``ConcurrencyContract`` proves it).
    fill_threads = 8

    def _fill(self, backend: s3po.Backend, bucket: str, keys: list[str]) -> None:
        def put(key: str) -> None:
            backend.put(bucket, key, key.encode(), headers=Headers())

        with ThreadPoolExecutor(self.fill_threads, thread_name_prefix="contract-fill") as pool:
            list(pool.map(put, keys))  # list() re-raises the first failure

    def test_list_prefix_and_order(self, backend: s3po.Backend, bucket: str) -> None:
        """Listing is in key order and filtered by prefix."""
        keys = ["b/2", "a/1", "a/2", "a/sub/3", "c", "ab"]
        self._fill(backend, bucket, keys)
        listed = [e.key for e in backend.list(bucket) if isinstance(e, ObjectInfo)]
        assert listed == sorted(keys)
        under = [e.key for e in backend.list(bucket, "a/") if isinstance(e, ObjectInfo)]
        assert under == ["a/1", "a/2", "a/sub/3"]
        sizes = {e.key: e.size for e in backend.list(bucket) if isinstance(e, ObjectInfo)}
        assert sizes["a/sub/3"] == len(b"a/sub/3")

    def test_list_delimiter(self, backend: s3po.Backend, bucket: str) -> None:
        """A delimiter folds deeper keys into common prefixes."""
        self._fill(backend, bucket, ["top", "a/1", "a/2", "a/sub/3", "b/1"])
        entries = list(backend.list(bucket, "", "/"))
        prefixes = [e.prefix for e in entries if isinstance(e, CommonPrefix)]
        objects = [e.key for e in entries if isinstance(e, ObjectInfo)]
        assert prefixes == ["a/", "b/"]
        assert objects == ["top"]
        inner = list(backend.list(bucket, "a/", "/"))
        assert [e.prefix for e in inner if isinstance(e, CommonPrefix)] == ["a/sub/"]
        assert [e.key for e in inner if isinstance(e, ObjectInfo)] == ["a/1", "a/2"]

    def test_list_many(self, backend: s3po.Backend, bucket: str) -> None:
        """Listings longer than one page (1,000 keys on S3) are complete."""
        keys = [f"many/{i:05d}" for i in range(1_050)]
        self._fill(backend, bucket, keys)
        assert [e.key for e in backend.list(bucket, "many/") if isinstance(e, ObjectInfo)] == keys
