"""The contract for multipart uploads: start, parts, complete, abort, S3's checks.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import pytest

import s3po
from s3po.backend.contract._base import ContractBase, multipart_etag, sample
from s3po.backend.models import Headers

__all__ = ["MultipartContract"]


class MultipartContract(ContractBase):
    """Multipart uploads assemble, abort and refuse what S3 refuses.

    .. versionadded:: 0.2.0
    """

    def test_multipart_round_trip(self, backend: s3po.Backend, bucket: str) -> None:
        """Parts of the minimum size join into the object, with the ``-N`` ETag."""
        size = backend.capabilities.min_part_size
        parts_data = [sample(size, 1), sample(size, 2), sample(1234, 3)]
        headers = Headers(content_type="application/x-test", metadata={"m": "1"})
        upload_id = backend.start_multipart(bucket, "mp", headers=headers)
        parts = [
            backend.put_part(bucket, "mp", upload_id, i, d)
            for i, d in enumerate(parts_data, start=1)
        ]
        info = backend.complete_multipart(bucket, "mp", upload_id, parts)
        self.check_etag(info.etag, multipart_etag(parts_data))
        assert info.is_multipart
        head = backend.head(bucket, "mp")
        assert head.size == sum(map(len, parts_data))
        assert head.headers.content_type == "application/x-test"
        assert dict(head.headers.metadata) == {"m": "1"}
        with backend.get(bucket, "mp") as result:
            assert result.body.readall() == b"".join(parts_data)
        assert list(backend.list_multipart(bucket)) == []

    def test_multipart_abort(self, backend: s3po.Backend, bucket: str) -> None:
        """An aborted upload leaves no object and no listed upload."""
        upload_id = backend.start_multipart(bucket, "ab", headers=Headers())
        backend.put_part(bucket, "ab", upload_id, 1, b"x" * 1000)
        listed = list(backend.list_multipart(bucket))
        assert [(u.key, u.upload_id) for u in listed] == [("ab", upload_id)]
        backend.abort_multipart(bucket, "ab", upload_id)
        assert list(backend.list_multipart(bucket)) == []
        with pytest.raises(s3po.NoSuchKey):
            backend.head(bucket, "ab")

    def test_multipart_small_part_refused(self, backend: s3po.Backend, bucket: str) -> None:
        """A part under the minimum size, other than the last, is refused."""
        upload_id = backend.start_multipart(bucket, "small", headers=Headers())
        try:
            parts = [
                backend.put_part(bucket, "small", upload_id, 1, b"a" * 1000),
                backend.put_part(bucket, "small", upload_id, 2, b"b" * 1000),
            ]
            with pytest.raises(s3po.InvalidPart):
                backend.complete_multipart(bucket, "small", upload_id, parts)
        finally:
            backend.abort_multipart(bucket, "small", upload_id)

    def test_unknown_upload(self, backend: s3po.Backend, bucket: str) -> None:
        """A part for an upload that does not exist raises NoSuchUpload."""
        with pytest.raises(s3po.NoSuchUpload):
            backend.put_part(bucket, "k", "0123456789abcdef", 1, b"x")
