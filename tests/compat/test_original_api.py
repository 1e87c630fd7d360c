"""Code written for the original s3po (2012 to 0.6.1) runs: each old spelling, on every store.

Every test runs against the local backend, a moto server (through ``Connection.s3()``, the
default S3 backend) and the memory backend.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import s3po
import s3po.exceptions
from s3po.backend import Headers
from s3po.codecs import Decoder

STORES = ["local", "moto", "memory"]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """What a Connection to each store takes, plus ``strict``: the same, refusing new buckets."""
    if request.param == "local":
        options: dict[str, Any] = {"backend": "local", "root": tmp_path / "store"}
        return {"options": options, "strict": {**options, "create_buckets": False}}
    if request.param == "memory":
        return {
            "options": {"backend": "memory"},
            "strict": {"backend": "memory", "create_buckets": False},
        }
    server = request.getfixturevalue("moto_server")
    server.reset()
    backend = s3po.default_registries().backends.names()
    assert "obstore" in backend
    options = {"backend": "obstore", **server.options()}
    return {"options": options, "strict": options, "server": server}


@pytest.fixture
def conn(store: dict[str, Any]) -> Iterator[s3po.Connection]:
    with s3po.Connection(**store["options"]) as c:
        c.create_bucket("bucket")
        yield c


def _raw_put(conn: s3po.Connection, key: str, data: bytes, encoding: str) -> None:
    """Store ``data`` as the original did: no s3po checksum, just a Content-Encoding."""
    conn.backend.put("bucket", key, data, headers=Headers(content_encoding=encoding))


# -- compress="zlib" and the deflate codec ---------------------------------------------------


def test_zlib_is_stored_as_deflate_and_reads_back(conn: s3po.Connection) -> None:
    text = "a line the original compressed with zlib\n" * 2000
    result = conn.uploadString("bucket", "z", text, compress="zlib")
    assert result.content_encoding == "deflate"
    assert conn.head("bucket", "z").headers.content_encoding == "deflate"
    stored = conn.download_bytes("bucket", "z", decompress=False)
    assert zlib.decompress(stored) == text.encode()  # the zlib format, per RFC 9110
    assert conn.downloadString("bucket", "z") == text


def test_objects_the_original_wrote_with_zlib_read(conn: s3po.Connection) -> None:
    data = b"written by s3po 2012 with compress='zlib'\n" * 5000
    compressor = zlib.compressobj()  # exactly what the original's compressToFile did
    _raw_put(conn, "old", compressor.compress(data) + compressor.flush(), "deflate")
    assert conn.download_bytes("bucket", "old") == data
    assert conn.downloadString("bucket", "old") == data.decode()


def test_raw_deflate_is_read_as_browsers_do(conn: s3po.Connection) -> None:
    data = b"raw DEFLATE, as some servers send under Content-Encoding: deflate\n" * 3000
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    _raw_put(conn, "raw", raw.compress(data) + raw.flush(), "deflate")
    assert conn.download_bytes("bucket", "raw") == data


def test_a_truncated_deflate_body_is_corrupt(conn: s3po.Connection) -> None:
    _raw_put(conn, "cut", zlib.compress(os.urandom(50_000))[:-100], "deflate")
    with pytest.raises(s3po.CorruptData):
        conn.download_bytes("bucket", "cut")


def test_deflate_decoding_is_bounded() -> None:
    codec = s3po.default_registries().codecs.get("zlib")
    assert codec.name == "deflate"
    bomb = zlib.compress(b"\0" * (64 * 1024 * 1024), 9)  # 64 KiB that expand to 64 MiB
    decoder = codec.decoder()
    assert isinstance(decoder, Decoder)
    total, calls = 0, 0
    chunk = decoder.decode(bomb, 4096)
    while chunk:
        assert len(chunk) <= 4096
        total += len(chunk)
        calls += 1
        if calls > 3:
            break
        chunk = decoder.decode(b"", 4096)
    assert total == 4 * 4096
    assert not decoder.needs_input


# -- upload / download (0.3.1 to 0.6.1) ------------------------------------------------------


def test_upload_and_download_take_strings_bytes_and_streams(
    conn: s3po.Connection, tmp_path: Path
) -> None:
    conn.upload("bucket", "str", "content")
    conn.upload("bucket", "bytes", b"\x00binary")
    conn.upload("bucket", "stringio", io.StringIO("from StringIO"))
    conn.upload("bucket", "bytesio", io.BytesIO(b"from BytesIO"))
    path = tmp_path / "foo.txt"
    path.write_text("text file ✓", encoding="utf-8")
    with path.open(encoding="utf-8") as fin:  # the README's open('foo.txt')
        conn.upload("bucket", "textfile", fin)
    with path.open("rb") as fin:
        conn.upload("bucket", "binfile", fin, headers={"Content-Type": "text/plain"})
    assert conn.download("bucket", "str") == "content"
    assert conn.download("bucket", "stringio") == "from StringIO"
    assert conn.download("bucket", "textfile") == "text file ✓"
    assert conn.download_bytes("bucket", "bytes") == b"\x00binary"
    out = io.BytesIO()
    result = conn.download("bucket", "bytesio", out)
    assert (out.getvalue(), result.size) == (b"from BytesIO", 12)
    text = io.StringIO()
    conn.download("bucket", "binfile", text)
    assert text.getvalue() == "text file ✓"
    target = tmp_path / "out.txt"
    with target.open("w", encoding="utf-8") as fout:  # the README's open('foo.txt', 'w')
        conn.download("bucket", "str", fout)
    assert target.read_text() == "content"


def test_upload_file_and_download_file_keep_their_names(
    conn: s3po.Connection, tmp_path: Path
) -> None:
    source = tmp_path / "upload"
    source.write_text("content")
    conn.upload_file("bucket", "key", source, retries=2)
    conn.download_file("bucket", "key", tmp_path / "download", retries=2)
    assert (tmp_path / "download").read_text() == "content"


def test_download_of_a_missing_key_raises_download_exception(conn: s3po.Connection) -> None:
    with pytest.raises(s3po.exceptions.DownloadException) as caught:
        conn.download("bucket", "missing")
    assert isinstance(caught.value, s3po.NoSuchKey)


# -- downloadFile(bucket, key, filename=..., retries=...) ------------------------------------


def test_download_file_by_keyword_returns_the_path(conn: s3po.Connection, tmp_path: Path) -> None:
    conn.uploadString("bucket", "k", "value")
    target = tmp_path / "new" / "folders" / "file.txt"
    path = conn.downloadFile("bucket", "k", filename=target, retries=2)
    assert path == str(target)
    assert target.read_text() == "value"
    result = conn.downloadFile("bucket", "k", tmp_path / "positional")
    assert result.size == 5  # the positional form is download_file


def test_download_file_without_a_filename_makes_a_temporary_file(
    store: dict[str, Any], tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with s3po.Connection(**store["options"], tempdir=scratch) as conn:
        conn.create_bucket("bucket")
        conn.uploadString("bucket", "k", "value", compress="gzip")
        path = conn.downloadFile("bucket", "k", retries=1)
        assert Path(path).parent == scratch
        assert Path(path).read_text() == "value"
        with pytest.raises(s3po.NoSuchKey):
            conn.downloadFile("bucket", "missing")
        assert list(scratch.iterdir()) == [Path(path)]  # the failure left nothing behind
        other = tmp_path / "other"
        other.mkdir()
        assert Path(conn.downloadFile("bucket", "k", tempdir=other)).parent == other
        with conn.batch(2) as batch:
            handle = batch.downloadFile("bucket", "k")
        assert Path(handle.value).read_text() == "value"


def test_download_file_refuses_misspelled_keywords_before_any_io(conn: s3po.Connection) -> None:
    conn.uploadString("bucket", "k", "value")
    wrong: dict[str, Any] = {"filenam": "x"}
    with pytest.raises(s3po.UnknownArgument, match="did you mean filename="):
        conn.downloadFile("bucket", "k", **wrong)
    retries: Any = 5  # downloadFile(bucket, key, retries) of 2012
    with pytest.raises(s3po.InvalidRequest, match="retries=5 by keyword"):
        conn.downloadFile("bucket", "k", retries)
    both: dict[str, Any] = {"filename": "b"}  # mypy refuses this too
    with pytest.raises(s3po.InvalidRequest, match="not both"):
        conn.downloadFile("bucket", "k", "a", **both)
    assert not Path("5").exists()


# -- Batch.results(), success(), wait() ------------------------------------------------------


def test_batch_results_success_and_wait(conn: s3po.Connection) -> None:
    keys = ["foo", "bar", "baz", "whiz"]
    with conn.batch() as batch:
        for key in keys:
            batch.upload("bucket", key, key)
    assert [r.key for r in batch.results()] == keys
    assert batch.success()
    with conn.batch() as batch:
        for key in keys:
            batch.download("bucket", key)
    assert batch.results() == keys
    seen: list[str] = []
    batch = conn.batch(2)
    for key in keys:
        batch.download("bucket", key, callback=seen.append)
    batch.wait()
    assert sorted(seen) == sorted(keys)
    assert batch.success()


def test_a_failed_batch_raises_and_then_reports_no_success(conn: s3po.Connection) -> None:
    with pytest.raises(s3po.BatchError) as caught, conn.batch() as batch:  # noqa: PT012
        batch.upload("bucket", "ok", "fine")
        batch.download("bucket", "missing")
    assert not batch.success()
    assert len(caught.value.exceptions) == 1
    with pytest.raises(s3po.BatchError):
        batch.results()


# -- mock(), Connection.memory(), Connection.s3() --------------------------------------------


def test_mock_swaps_in_a_memory_store(conn: s3po.Connection) -> None:
    original = conn.backend
    with conn.mock() as mocked:
        assert mocked is conn
        assert conn.backend.name == "memory"
        conn.upload("foo", "bar", "hello")
        assert conn.download("foo", "bar") == "hello"
    assert conn.backend is original
    with pytest.raises(s3po.NotFound):
        conn.download("foo", "bar")
    mock = conn.mock()  # the README's setUp / tearDown pattern
    mock.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            mock.start()
        conn.upload("bucket", "only-in-the-mock", "x")
    finally:
        mock.stop()
    assert not conn.exists("bucket", "only-in-the-mock")
    with pytest.raises(ValueError, match="explode"), conn.mock():
        raise ValueError("explode")
    assert conn.backend is original


def test_connection_memory_is_the_original_memory_backend() -> None:
    conn = s3po.Connection.memory()
    conn.upload("bucket", "key", "content")  # buckets appear on write, as in the original
    assert conn.download("bucket", "key") == "content"
    assert conn.list_names("bucket") == ["key"]
    with pytest.raises(s3po.NoSuchBucket):
        s3po.Connection.memory().list_names("bucket")
    conn.close()


def test_connection_s3_uses_the_default_s3_backend(
    moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto_server.reset()
    monkeypatch.setenv("S3PO_BACKEND", "local")  # s3() means S3, whatever the environment
    with s3po.Connection.s3(**moto_server.options()) as conn:
        assert conn.backend.name == "obstore"
        conn.create_bucket("bucket")
        conn.upload("bucket", "key", "content")
        assert conn.download("bucket", "key") == "content"


# -- s3po.exceptions ---------------------------------------------------------------------------


def test_upload_exception_catches_real_upload_failures(
    store: dict[str, Any], tmp_path: Path
) -> None:
    with s3po.Connection(**store["strict"], retries=0) as conn:
        with pytest.raises(s3po.exceptions.UploadException) as caught:
            conn.upload("s3po-no-such-bucket", "k", "data")
        assert isinstance(caught.value, s3po.NoSuchBucket)
        with pytest.raises(s3po.exceptions.UploadException):
            conn.upload_file("bucket", "k", tmp_path / "no-such-file")
        with pytest.raises(s3po.exceptions.UploadException):
            conn.uploadString("Not_A_Bucket", "k", "data")
        handle = conn.upload("s3po-no-such-bucket", "k", "data", background=True)
        with pytest.raises(s3po.exceptions.UploadException):
            _ = handle.value
        with pytest.raises(s3po.BatchError), conn.batch() as batch:
            batch.upload("s3po-no-such-bucket", "k", "data")
        matched: list[BaseException] = []
        try:
            with conn.batch() as batch:
                batch.upload("s3po-no-such-bucket", "k", "data")
        except* s3po.exceptions.UploadException as group:
            matched.extend(group.exceptions)
        assert len(matched) == 1
        with pytest.raises(s3po.BatchError):
            conn.wait()


def test_the_original_exception_names_are_the_s3po_tree() -> None:
    exceptions = s3po.exceptions
    assert exceptions.S3POException is s3po.S3poError
    for name in ("UploadException", "DownloadException", "DeleteException"):
        assert issubclass(getattr(exceptions, name), exceptions.S3POException)


def test_deleting_a_missing_key_is_not_an_error(conn: s3po.Connection) -> None:
    conn.delete("bucket", "never-there")
    conn.upload("bucket", "key", "content")
    conn.delete("bucket", "key")
    assert conn.list_names("bucket") == []


# -- logger, silent=, tempdir=, async= -------------------------------------------------------


def test_logger_is_the_s3po_logger() -> None:
    from s3po import logger  # noqa: PLC0415 - the original's import is the point

    assert logger is logging.getLogger("s3po")


def test_silent_is_accepted_and_failures_still_raise(conn: s3po.Connection) -> None:
    conn.uploadString("bucket", "k", "x", silent=False)
    with pytest.warns(DeprecationWarning, match="silent= is ignored"):
        conn.uploadString("bucket", "k", "x", silent=True)
    with (
        pytest.warns(DeprecationWarning, match="silent= is ignored"),
        pytest.raises(s3po.InvalidRequest),
    ):
        conn.uploadFile("bucket", "k", "/no/such/file", silent=True)


def test_connection_async_is_the_deprecated_background_default(store: dict[str, Any]) -> None:
    legacy: dict[str, Any] = {"async": True}
    with pytest.warns(DeprecationWarning, match="background=True"):
        conn = s3po.Connection(**store["options"], **legacy)
    conn.create_bucket("bucket")
    handle = conn.uploadString("bucket", "k", "in the background")
    assert isinstance(handle, s3po.Handle)
    assert handle.value.key == "k"
    also: Any = conn.upload("bucket", "k2", "too")
    assert also.value.key == "k2"
    assert conn.uploadString("bucket", "k3", "now", background=False).key == "k3"
    assert conn.downloadString("bucket", "k") == "in the background"  # downloads return
    conn.close()
    with s3po.Connection(**store["options"], background=True) as conn:
        assert isinstance(conn.uploadString("bucket", "k4", "x"), s3po.Handle)
    with pytest.raises(s3po.ConfigError, match="awaited"):
        s3po.AsyncConnection(**store["options"], background=True)


def test_per_call_async_on_the_old_names(conn: s3po.Connection) -> None:
    legacy: dict[str, Any] = {"async": True}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        handle = conn.upload("bucket", "k", "x", **legacy)
        assert handle.value.key == "k"
        text = conn.download("bucket", "k", io.StringIO(), **legacy)
        assert text.value.size == 1
    assert [w.category for w in caught] == [DeprecationWarning, DeprecationWarning]
