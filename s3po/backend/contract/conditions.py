"""The contract for conditional writes: S3's If-None-Match and If-Match on PUT and Complete.

A backend declares the conditions it honours in
:attr:`Capabilities.conditions <s3po.backend.Capabilities>`. Each test here checks one
condition on one request; for one the backend does not declare, it checks instead that a
:class:`~s3po.Connection` refuses it with :class:`~s3po.NotSupported` before writing, then
reports itself skipped with the reason, so a missing feature shows in the test report.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

import s3po
from s3po.backend.contract._base import ContractBase, sample
from s3po.backend.models import Headers, PartInfo, WriteCondition

__all__ = ["ConditionalWritesContract"]

CREATE = WriteCondition(if_none_match=True)

#: Threads that race to create one key.
RACERS = 8


class ConditionalWritesContract(ContractBase):
    """If-None-Match: * and If-Match on PutObject and CompleteMultipartUpload.

    .. versionadded:: 0.4.0
    """

    def declared(
        self, backend: s3po.Backend, bucket: str, request: str, condition: WriteCondition
    ) -> None:
        """Go on if ``backend`` declares ``condition`` on ``request``; else prove the refusal.

        An undeclared condition must be refused before anything is written: a Connection
        upload that needs it raises NotSupported, and the key stays as it was. The test
        then skips, naming what the backend lacks.
        """
        if backend.capabilities.supports(request, condition):
            return
        size = backend.capabilities.min_part_size
        data = sample(size + 1 if request == "complete" else 10)
        chunk = s3po.ChunkConfig(threshold=size, part_size=size)
        with s3po.Connection(backend, config=s3po.TransferConfig(chunk=chunk)) as conn:
            none_match = "*" if condition.if_none_match else None
            match = None if condition.if_none_match else "0" * 32
            with pytest.raises(s3po.NotSupported):
                conn.upload_string(
                    bucket, "undeclared", data, if_none_match=none_match, if_match=match
                )
            with pytest.raises(s3po.NoSuchKey):
                backend.head(bucket, "undeclared")
        assert list(backend.list_multipart(bucket)) == []
        pytest.skip(
            f"the {backend.name} backend does not declare {request} with "
            f"{condition.describe()}: refused with NotSupported before any write (checked)"
        )

    # -- PutObject ------------------------------------------------------------------------

    def test_put_if_none_match_creates(self, backend: s3po.Backend, bucket: str) -> None:
        """If-None-Match: * stores a new key, and refuses an existing one, leaving it intact."""
        self.declared(backend, bucket, "put", CREATE)
        first = backend.put(bucket, "once", b"first", headers=Headers(), condition=CREATE)
        with pytest.raises(s3po.PreconditionFailed):
            backend.put(bucket, "once", b"second", headers=Headers(), condition=CREATE)
        assert backend.head(bucket, "once").etag == first.etag
        with backend.get(bucket, "once") as result:
            assert result.body.readall() == b"first"

    def test_put_if_match_swaps(self, backend: s3po.Backend, bucket: str) -> None:
        """If-Match replaces the version named, and refuses a stale ETag or a missing key."""
        old = backend.put(bucket, "cas", b"v1", headers=Headers())
        swap = WriteCondition(if_match=old.etag)
        self.declared(backend, bucket, "put", swap)
        new = backend.put(bucket, "cas", b"v2", headers=Headers(), condition=swap)
        with pytest.raises(s3po.PreconditionFailed):  # old.etag is stale now
            backend.put(bucket, "cas", b"v3", headers=Headers(), condition=swap)
        with backend.get(bucket, "cas") as result:
            assert result.body.readall() == b"v2"
        assert backend.head(bucket, "cas").etag == new.etag
        with pytest.raises(s3po.PreconditionFailed):
            backend.put(bucket, "absent", b"v1", headers=Headers(), condition=swap)
        with pytest.raises(s3po.NoSuchKey):
            backend.head(bucket, "absent")

    def test_race_to_create_one_key(self, backend: s3po.Backend, bucket: str) -> None:
        """Threads racing to create one key with If-None-Match: * : exactly one wins."""
        self.declared(backend, bucket, "put", CREATE)
        start = Barrier(RACERS)

        def race(i: int) -> bytes | None:
            start.wait()
            try:
                backend.put(bucket, "race", b"racer %d" % i, headers=Headers(), condition=CREATE)
            except s3po.PreconditionFailed:
                return None
            return b"racer %d" % i

        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            won = [w for w in pool.map(race, range(RACERS)) if w is not None]
        assert len(won) == 1
        with backend.get(bucket, "race") as result:
            assert result.body.readall() == won[0]

    # -- CompleteMultipartUpload ----------------------------------------------------------

    def _upload(
        self, backend: s3po.Backend, bucket: str, key: str, seed: int
    ) -> tuple[str, list[PartInfo]]:
        upload_id = backend.start_multipart(bucket, key, headers=Headers())
        part = backend.put_part(bucket, key, upload_id, 1, sample(1000, seed))
        return upload_id, [part]

    def test_complete_if_none_match(self, backend: s3po.Backend, bucket: str) -> None:
        """Complete with If-None-Match: * refuses an existing key; the upload stays to abort."""
        self.declared(backend, bucket, "complete", CREATE)
        upload_id, parts = self._upload(backend, bucket, "mp-new", 1)
        backend.complete_multipart(bucket, "mp-new", upload_id, parts, condition=CREATE)
        kept = backend.put(bucket, "mp-old", b"kept", headers=Headers())
        upload_id, parts = self._upload(backend, bucket, "mp-old", 2)
        try:
            with pytest.raises(s3po.PreconditionFailed):
                backend.complete_multipart(bucket, "mp-old", upload_id, parts, condition=CREATE)
        finally:
            backend.abort_multipart(bucket, "mp-old", upload_id)
        assert backend.head(bucket, "mp-old").etag == kept.etag
        with backend.get(bucket, "mp-new") as result:
            assert result.body.readall() == sample(1000, 1)
        assert list(backend.list_multipart(bucket)) == []

    def test_complete_if_match(self, backend: s3po.Backend, bucket: str) -> None:
        """Complete with If-Match replaces the version named and refuses a stale ETag."""
        old = backend.put(bucket, "mp-cas", b"v1", headers=Headers())
        swap = WriteCondition(if_match=old.etag)
        self.declared(backend, bucket, "complete", swap)
        upload_id, parts = self._upload(backend, bucket, "mp-cas", 3)
        backend.complete_multipart(bucket, "mp-cas", upload_id, parts, condition=swap)
        upload_id, parts = self._upload(backend, bucket, "mp-cas", 4)
        try:
            with pytest.raises(s3po.PreconditionFailed):
                backend.complete_multipart(bucket, "mp-cas", upload_id, parts, condition=swap)
        finally:
            backend.abort_multipart(bucket, "mp-cas", upload_id)
        with backend.get(bucket, "mp-cas") as result:
            assert result.body.readall() == sample(1000, 3)

    # -- through a Connection -------------------------------------------------------------

    def test_connection_multipart_no_clobber(self, conn: s3po.Connection, bucket: str) -> None:
        """A multipart upload with if_none_match='*' onto an existing key: refused, aborted."""
        backend = conn.backend
        self.declared(backend, bucket, "complete", CREATE)
        kept = conn.upload_string(bucket, "big", "kept")
        data = sample(conn.config.chunk.part_size + 1, 5)
        with pytest.raises(s3po.PreconditionFailed):
            conn.upload_string(bucket, "big", data, if_none_match="*")
        assert backend.head(bucket, "big").etag == kept.etag
        assert list(backend.list_multipart(bucket)) == []
        result = conn.upload_string(bucket, "big-new", data, if_none_match="*")
        assert result.multipart
        assert conn.download_bytes(bucket, "big-new") == data
