"""The contract for single objects: PUT, GET (ranged, pinned), HEAD, DELETE, COPY.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import s3po
from s3po.backend.bodies import FileWindow
from s3po.backend.contract._base import ContractBase, md5_etag, sample
from s3po.backend.models import Headers, ObjectInfo

__all__ = ["ObjectsContract"]


class ObjectsContract(ContractBase):
    """Single-object requests, and a string through every codec over them.

    .. versionadded:: 0.2.0
    """

    @pytest.mark.parametrize("size", [0, 1, 1000, 256 * 1024 + 7])
    def test_put_get_round_trip(self, backend: s3po.Backend, bucket: str, size: int) -> None:
        """Bytes stored come back exactly, with S3's ETag."""
        data = sample(size, size)
        info = backend.put(bucket, "obj", data, headers=Headers(), size=size)
        self.check_etag(info.etag, md5_etag(data))
        with backend.get(bucket, "obj") as result:
            assert result.body.readall() == data
            assert result.info.size == size
            assert result.info.etag == info.etag

    def test_put_file_window(self, backend: s3po.Backend, bucket: str, tmp_path: Path) -> None:
        """A :class:`~s3po.FileWindow` body stores exactly its range of the file."""
        data = sample(300_000, 9)
        path = tmp_path / "source.bin"
        path.write_bytes(data)
        with path.open("rb") as source:
            window = FileWindow(source.fileno(), 1000, 250_000)
            info = backend.put(bucket, "w", window, headers=Headers(), size=len(window))
        assert info.size == 250_000
        self.check_etag(info.etag, md5_etag(data[1000:251_000]))
        with backend.get(bucket, "w") as result:
            assert result.body.readall() == data[1000:251_000]

    def test_put_stream(self, backend: s3po.Backend, bucket: str) -> None:
        """A stream body is read to its end."""
        data = sample(100_000)
        backend.put(bucket, "s", io.BytesIO(data), headers=Headers(), size=len(data))
        with backend.get(bucket, "s") as result:
            assert result.body.readall() == data

    def test_ranged_get(self, backend: s3po.Backend, bucket: str) -> None:
        """``start``/``end`` select bytes [start, end)."""
        data = sample(10_000)
        backend.put(bucket, "r", data, headers=Headers())
        with backend.get(bucket, "r", start=100, end=2_000) as result:
            assert result.body.readall() == data[100:2_000]
            assert (result.start, result.end) == (100, 2_000)
            assert result.info.size == len(data)
        with backend.get(bucket, "r", start=9_000) as result:
            assert result.body.readall() == data[9_000:]

    def test_if_match(self, backend: s3po.Backend, bucket: str) -> None:
        """A GET pinned to an old ETag fails with PreconditionFailed."""
        info = backend.put(bucket, "v", b"one", headers=Headers())
        with backend.get(bucket, "v", if_match=info.etag) as result:
            assert result.body.readall() == b"one"
        backend.put(bucket, "v", b"two", headers=Headers())
        with pytest.raises(s3po.PreconditionFailed):
            backend.get(bucket, "v", if_match=info.etag).body.close()

    def test_headers_and_metadata_round_trip(self, backend: s3po.Backend, bucket: str) -> None:
        """Content-Type, Content-Encoding, Cache-Control and metadata are kept."""
        headers = Headers(
            content_type="application/json",
            content_encoding="gzip",
            cache_control="max-age=60",
            content_disposition='attachment; filename="x.json"',
            metadata={"origin": "test", "n": "1"},
        )
        backend.put(bucket, "h", b"{}", headers=headers)
        info = backend.head(bucket, "h")
        assert info.headers.content_type == "application/json"
        assert info.headers.content_encoding == "gzip"
        assert info.headers.cache_control == "max-age=60"
        assert info.headers.content_disposition == 'attachment; filename="x.json"'
        assert dict(info.headers.metadata) == {"origin": "test", "n": "1"}
        assert info.size == 2
        assert info.last_modified is not None

    def test_missing_key(self, backend: s3po.Backend, bucket: str) -> None:
        """A missing key raises NoSuchKey (a FileNotFoundError)."""
        with pytest.raises(s3po.NoSuchKey):
            backend.head(bucket, "missing")
        with pytest.raises(FileNotFoundError):
            backend.get(bucket, "missing")

    def test_missing_bucket(self, backend: s3po.Backend) -> None:
        """A missing bucket raises NoSuchBucket."""
        with pytest.raises(s3po.NoSuchBucket):
            backend.head("s3po-no-such-bucket", "k")
        with pytest.raises(s3po.NoSuchBucket):
            list(backend.list("s3po-no-such-bucket"))

    def test_delete(self, backend: s3po.Backend, bucket: str) -> None:
        """Delete removes the object; deleting a missing key is fine."""
        backend.put(bucket, "d/x", b"x", headers=Headers())
        backend.delete(bucket, "d/x")
        with pytest.raises(s3po.NoSuchKey):
            backend.head(bucket, "d/x")
        backend.delete(bucket, "d/x")

    def test_overwrite(self, backend: s3po.Backend, bucket: str) -> None:
        """A second PUT replaces the object and its metadata."""
        backend.put(bucket, "o", b"first", headers=Headers(metadata={"a": "1"}))
        backend.put(bucket, "o", b"second", headers=Headers())
        with backend.get(bucket, "o") as result:
            assert result.body.readall() == b"second"
            assert dict(result.info.headers.metadata) == {}

    @pytest.mark.parametrize(
        "key", ["plain", "with space", "ünïcødé/ключ/键", "a/b/c/d.txt", "q?x=1&y=2", "per%cent"]
    )
    def test_odd_keys(self, backend: s3po.Backend, bucket: str, key: str) -> None:
        """Unicode and URL-special keys round-trip and list back as given."""
        backend.put(bucket, key, key.encode(), headers=Headers())
        with backend.get(bucket, key) as result:
            assert result.body.readall() == key.encode()
        assert [e.key for e in backend.list(bucket) if isinstance(e, ObjectInfo)] == [key]

    def test_copy(self, backend: s3po.Backend, bucket: str) -> None:
        """Copy duplicates bytes and metadata; new headers replace them."""
        backend.put(bucket, "src", b"payload", headers=Headers(metadata={"k": "v"}))
        backend.copy(bucket, "src", bucket, "dst")
        with backend.get(bucket, "dst") as result:
            assert result.body.readall() == b"payload"
            assert dict(result.info.headers.metadata) == {"k": "v"}
        backend.copy(bucket, "src", bucket, "dst2", headers=Headers(content_type="text/plain"))
        info = backend.head(bucket, "dst2")
        assert info.headers.content_type == "text/plain"

    @pytest.mark.parametrize("compress", [None, "gzip", "zstd", "br"])
    def test_connection_round_trip(
        self, conn: s3po.Connection, bucket: str, compress: str | None
    ) -> None:
        """Strings round-trip through every codec; Content-Encoding says which."""
        text = "line of text ✓\n" * 5000
        conn.upload_string(bucket, "t", text, compress=compress)
        assert conn.download_string(bucket, "t") == text
        assert conn.head(bucket, "t").headers.content_encoding == compress
