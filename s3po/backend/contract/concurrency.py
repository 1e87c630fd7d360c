"""The contract for concurrent use: a backend is called from many threads at once.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import s3po
from s3po.backend.contract._base import ContractBase, multipart_etag, sample
from s3po.backend.models import Headers, ObjectInfo

__all__ = ["ConcurrencyContract"]


class ConcurrencyContract(ContractBase):
    """Requests from many threads at once, and parts uploaded side by side.

    .. versionadded:: 0.2.0
    """

    def test_connection_multipart_compressed(self, conn: s3po.Connection, bucket: str) -> None:
        """A compressed stream larger than the threshold goes up in parts and comes back."""
        size = 3 * conn.config.chunk.part_size + 17
        data = sample(size, 9)
        result = conn.upload_fileobj(bucket, "big", io.BytesIO(data))
        assert result.multipart
        assert conn.download_bytes(bucket, "big") == data
        assert list(conn.backend.list_multipart(bucket)) == []

    def test_requests_from_many_threads(self, backend: s3po.Backend, bucket: str) -> None:
        """Puts, gets, heads and deletes of distinct keys from 8 threads all succeed."""

        def one(i: int) -> bytes:
            key = f"threads/{i:03d}"
            data = sample(10_000 + i, i)
            backend.put(bucket, key, data, headers=Headers(metadata={"i": str(i)}))
            assert backend.head(bucket, key).headers.metadata["i"] == str(i)
            with backend.get(bucket, key) as result:
                return result.body.readall()

        with ThreadPoolExecutor(max_workers=8) as pool:
            got = list(pool.map(one, range(32)))
        assert got == [sample(10_000 + i, i) for i in range(32)]
        listed = [e.key for e in backend.list(bucket, "threads/") if isinstance(e, ObjectInfo)]
        assert listed == [f"threads/{i:03d}" for i in range(32)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda i: backend.delete(bucket, f"threads/{i:03d}"), range(32)))
        assert list(backend.list(bucket, "threads/")) == []

    def test_parts_uploaded_side_by_side(self, backend: s3po.Backend, bucket: str) -> None:
        """Parts of one upload sent from several threads at once, in any order, assemble."""
        size = backend.capabilities.min_part_size
        parts_data = [sample(size, 11), sample(size, 12), sample(777, 13)]
        upload_id = backend.start_multipart(bucket, "side", headers=Headers())
        try:
            with ThreadPoolExecutor(max_workers=3) as pool:
                parts = list(
                    pool.map(
                        lambda n: backend.put_part(bucket, "side", upload_id, n, parts_data[n - 1]),
                        [3, 1, 2],
                    )
                )
            parts.sort(key=lambda p: p.part_number)
            info = backend.complete_multipart(bucket, "side", upload_id, parts)
        except BaseException:
            backend.abort_multipart(bucket, "side", upload_id)
            raise
        self.check_etag(info.etag, multipart_etag(parts_data))
        with backend.get(bucket, "side") as result:
            assert result.body.readall() == b"".join(parts_data)
