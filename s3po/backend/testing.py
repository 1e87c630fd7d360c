"""Test helpers for backends and middleware: a contract suite and fault-injecting wrappers.

A backend plugin proves itself by subclassing :class:`BackendContract` in its tests and
providing two fixtures, ``backend`` (a fresh :class:`~s3po.Backend`) and ``bucket`` (the name
of an existing, empty bucket on it)::

    class TestMyBackend(BackendContract):
        @pytest.fixture
        def backend(self): ...
        @pytest.fixture
        def bucket(self, backend): ...

Every built-in backend runs this same suite unchanged.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import s3po
from s3po.backend import emulation
from s3po.backend.bodies import FileWindow
from s3po.backend.models import CommonPrefix, Headers, ObjectInfo, PartInfo
from s3po.backend.protocol import ForwardingBackend

__all__ = ["BackendContract", "FlakyBackend", "md5_etag"]


def md5_etag(data: bytes) -> str:
    """S3's ETag of a single-request upload of ``data``.

    .. versionadded:: 0.1.0
    """
    return hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag is an MD5


def multipart_etag(parts: list[bytes]) -> str:
    """S3's ETag of a multipart upload of ``parts``.

    .. versionadded:: 0.1.0
    """
    return emulation.multipart_etag([hashlib.md5(p).digest() for p in parts])  # noqa: S324


class FlakyBackend(ForwardingBackend):
    """Fails chosen calls with :class:`~s3po.TransientError` (or any error) on a schedule.

    Args:
        inner: The backend below.
        failures: Maps a method name (``"put_part"``, ``"get"``, ...) to how many of its
            next calls fail.
        error: Builds the error to raise (default: a TransientError).

    Attributes:
        calls: Method name to the number of calls made (failed ones included).

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        inner: s3po.Backend,
        failures: dict[str, int] | None = None,
        error: Callable[[str], BaseException] | None = None,
    ) -> None:
        """Wrap ``inner``."""
        super().__init__(inner)
        self.failures = dict(failures or {})
        self.error = error or (lambda op: s3po.TransientError(f"injected failure of {op}"))
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def _maybe_fail(self, op: str) -> None:
        with self._lock:
            self.calls[op] = self.calls.get(op, 0) + 1
            left = self.failures.get(op, 0)
            if left > 0:
                self.failures[op] = left - 1
                raise self.error(op)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Maybe fail, else forward."""
        self._maybe_fail("head")
        return super().head(bucket, key)

    def get(self, bucket: str, key: str, **kwargs: Any) -> s3po.GetResult:  # noqa: ANN401
        """Maybe fail, else forward."""
        self._maybe_fail("get")
        return super().get(bucket, key, **kwargs)

    def put(self, bucket: str, key: str, body: Any, **kwargs: Any) -> ObjectInfo:  # noqa: ANN401
        """Maybe fail (after reading some of a stream body), else forward."""
        with self._lock:
            failing = self.failures.get("put", 0) > 0
        if failing and hasattr(body, "read"):
            body.read(1)
        self._maybe_fail("put")
        return super().put(bucket, key, body, **kwargs)

    def put_part(self, bucket: str, key: str, upload_id: str, n: int, data: Any) -> PartInfo:  # noqa: ANN401
        """Maybe fail, else forward."""
        self._maybe_fail("put_part")
        return super().put_part(bucket, key, upload_id, n, data)

    def complete_multipart(self, bucket: str, key: str, upload_id: str, parts: Any) -> ObjectInfo:  # noqa: ANN401
        """Maybe fail, else forward."""
        self._maybe_fail("complete_multipart")
        return super().complete_multipart(bucket, key, upload_id, parts)

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        """Maybe fail, else forward."""
        self._maybe_fail("start_multipart")
        return super().start_multipart(bucket, key, headers=headers)


def _data(n: int, seed: int = 0) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 2048
    reps = n // len(block) + 1
    return (block * reps)[:n]


class BackendContract:
    """The behaviour every backend must show. Subclass it and provide the fixtures.

    Fixtures expected: ``backend`` (a :class:`~s3po.Backend`) and ``bucket`` (an existing,
    empty bucket's name). Set ``md5_etags = False`` for a backend whose ETags are opaque
    tokens rather than S3's MD5s; they must then still change with every write.

    .. versionadded:: 0.1.0
    """

    md5_etags = True

    def check_etag(self, etag: str, expected: str) -> None:
        """``etag`` is ``expected`` (S3's), or an opaque token of the same form."""
        if self.md5_etags:
            assert etag == expected
        else:
            head, _, count = etag.partition("-")
            assert re.fullmatch(r"[0-9a-f]{32}", head), etag
            assert count == expected.partition("-")[2]

    # -- single objects -------------------------------------------------------------------

    @pytest.mark.parametrize("size", [0, 1, 1000, 256 * 1024 + 7])
    def test_put_get_round_trip(self, backend: s3po.Backend, bucket: str, size: int) -> None:
        """Bytes stored come back exactly, with S3's ETag."""
        data = _data(size, size)
        info = backend.put(bucket, "obj", data, headers=Headers(), size=size)
        self.check_etag(info.etag, md5_etag(data))
        with backend.get(bucket, "obj") as result:
            assert result.body.readall() == data
            assert result.info.size == size
            assert result.info.etag == info.etag

    def test_put_file_window(self, backend: s3po.Backend, bucket: str, tmp_path: Path) -> None:
        """A :class:`~s3po.FileWindow` body stores exactly its range of the file."""
        data = _data(300_000, 9)
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
        data = _data(100_000)
        backend.put(bucket, "s", io.BytesIO(data), headers=Headers(), size=len(data))
        with backend.get(bucket, "s") as result:
            assert result.body.readall() == data

    def test_ranged_get(self, backend: s3po.Backend, bucket: str) -> None:
        """``start``/``end`` select bytes [start, end)."""
        data = _data(10_000)
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

    # -- listing --------------------------------------------------------------------------

    def _fill(self, backend: s3po.Backend, bucket: str, keys: list[str]) -> None:
        for key in keys:
            backend.put(bucket, key, key.encode(), headers=Headers())

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

    # -- multipart ------------------------------------------------------------------------

    def test_multipart_round_trip(self, backend: s3po.Backend, bucket: str) -> None:
        """Parts of the minimum size join into the object, with the ``-N`` ETag."""
        size = backend.capabilities.min_part_size
        parts_data = [_data(size, 1), _data(size, 2), _data(1234, 3)]
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

    # -- the pipeline over this backend ---------------------------------------------------

    @pytest.fixture
    def conn(self, backend: s3po.Backend) -> Iterator[s3po.Connection]:
        """A Connection over the backend, with small parts to exercise multipart."""
        chunk = s3po.ChunkConfig(
            threshold=backend.capabilities.min_part_size,
            part_size=backend.capabilities.min_part_size,
            max_concurrency=4,
        )
        conn = s3po.Connection(backend, config=s3po.TransferConfig(chunk=chunk))
        yield conn
        conn.wait()

    @pytest.mark.parametrize("compress", [None, "gzip", "zstd", "br"])
    def test_connection_round_trip(
        self, conn: s3po.Connection, bucket: str, compress: str | None
    ) -> None:
        """Strings round-trip through every codec; Content-Encoding says which."""
        text = "line of text ✓\n" * 5000
        conn.upload_string(bucket, "t", text, compress=compress)
        assert conn.download_string(bucket, "t") == text
        assert conn.head(bucket, "t").headers.content_encoding == compress

    def test_connection_multipart_compressed(self, conn: s3po.Connection, bucket: str) -> None:
        """A compressed stream larger than the threshold goes up in parts and comes back."""
        size = 3 * conn.config.chunk.part_size + 17
        data = _data(size, 9)
        result = conn.upload_fileobj(bucket, "big", io.BytesIO(data))
        assert result.multipart
        assert conn.download_bytes(bucket, "big") == data
        assert list(conn.backend.list_multipart(bucket)) == []
