"""The original s3po's own test suites (0.3.1 and 0.6.1), ported to pytest, on every store.

Each test keeps the original's calls and assertions. Where s3po differs on purpose (the
differences docs/migration.md lists), the line is changed as that page says, and a comment
names the difference.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import s3po
from s3po.exceptions import DownloadException

STORES = ["local", "moto", "memory"]


@pytest.fixture(params=STORES)
def conn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The original's ``Connection.memory()`` fixture, on each store (typed loosely, as it was)."""
    if request.param == "local":
        c = s3po.Connection(backend="local", root=tmp_path / "store")
    elif request.param == "memory":
        c = s3po.Connection.memory()
    else:
        server = request.getfixturevalue("moto_server")
        server.reset()
        c = s3po.Connection.s3(**server.options())
    # The original's memory store had every bucket already; s3po's stores, like S3, have
    # those created (local and memory make one on its first write, S3 never does).
    c.create_bucket("bucket")
    with c:
        yield c


# -- test/test_connection.py of 0.6.1 ----------------------------------------------------------


def test_round_trip(conn: Any) -> None:
    conn.upload("bucket", "key", "content")
    assert conn.download("bucket", "key") == "content"


def test_upload_file(conn: Any) -> None:
    conn.upload("bucket", "key", io.StringIO("content"))
    assert conn.download("bucket", "key") == "content"


def test_upload_filename(conn: Any, tmp_path: Path) -> None:
    path = tmp_path / "upload"
    with path.open("w+") as fout:
        fout.write("content")
    conn.upload_file("bucket", "key", path)
    assert conn.download("bucket", "key") == "content"


def test_download_file(conn: Any) -> None:
    fobj = io.StringIO()
    conn.upload("bucket", "key", "content")
    conn.download("bucket", "key", fobj)
    assert fobj.getvalue() == "content"


def test_download_filename(conn: Any, tmp_path: Path) -> None:
    path = tmp_path / "download"
    conn.upload("bucket", "key", "content")
    conn.download_file("bucket", "key", path)
    with path.open() as fin:
        assert fin.read() == "content"


def test_download_missing(conn: Any) -> None:
    with pytest.raises(DownloadException):
        conn.download("bucket", "key")


def test_mock(conn: Any) -> None:
    original = conn.backend
    with pytest.raises(ValueError, match="Explode"), conn.mock():  # noqa: PT012
        assert original != conn.backend
        raise ValueError("Explode")
    assert original == conn.backend


def test_list(conn: Any) -> None:
    conn.upload("bucket", "key", io.StringIO("content"))
    assert list(conn.list_names("bucket")) == ["key"]  # list() yields objects: list_names()


def test_list_prefix(conn: Any) -> None:
    conn.upload("bucket", "key", io.StringIO("content"))
    conn.upload("bucket", "something_else", io.StringIO("content"))
    assert list(conn.list_names("bucket", prefix="k")) == ["key"]  # list_names()


def test_list_delimiter(conn: Any) -> None:
    conn.upload("bucket", "a.1", io.StringIO("content"))
    conn.upload("bucket", "a.2", io.StringIO("content"))
    # list() yields CommonPrefix entries, which end with the delimiter
    assert [e.prefix for e in conn.list("bucket", delimiter=".")] == ["a."]


def test_delete_file(conn: Any) -> None:
    conn.upload("bucket", "key", "content")
    conn.delete("bucket", "key")
    assert list(conn.list_names("bucket", prefix="k")) == []  # list_names()


def test_delete_unexisting_key(conn: Any) -> None:
    conn.delete("bucket", "key")  # deleting a missing key is not an error, as on S3


# -- test/test_batch.py of 0.6.1 ---------------------------------------------------------------

KEYS = ["foo", "bar", "baz", "whiz"]


def test_batch_upload(conn: Any) -> None:
    with conn.batch() as batch:
        for key in KEYS:
            batch.upload("bucket", key, "foo")
    for key in KEYS:
        assert conn.download("bucket", key) == "foo"


def test_batch_callback(conn: Any) -> None:
    with conn.batch() as batch:
        for key in KEYS:
            batch.upload("bucket", key, key)
    results: list[str] = []
    with conn.batch() as batch:
        for key in KEYS:
            batch.download("bucket", key, callback=results.append)
    assert set(results) == set(KEYS)


def test_batch_results(conn: Any) -> None:
    with conn.batch() as batch:
        for key in KEYS:
            batch.upload("bucket", key, key)
    with conn.batch() as batch:
        for key in KEYS:
            batch.download("bucket", key)
    assert set(batch.results()) == set(KEYS)


def test_batch_success(conn: Any) -> None:
    with conn.batch() as batch:
        for key in KEYS:
            batch.upload("bucket", key, key)
    assert batch.success()


def test_batch_failed(conn: Any) -> None:
    with pytest.raises(s3po.BatchError), conn.batch() as batch:  # noqa: PT012 - failures raise
        for key in KEYS:
            batch.download("bucket", key)
    assert not batch.success()


# -- test/test_connection.py of 0.3.1 ----------------------------------------------------------


def test_upload_small_key(conn: Any) -> None:
    with pytest.raises(DownloadException):
        conn.download("bucket", "foo")
    conn.upload("bucket", "foo", "hello")
    assert conn.download("bucket", "foo") == "hello"


def test_multipart(conn: Any) -> None:
    # multipart_chunk = 5 MiB becomes ChunkConfig; the data is 'hello' * 5 MiB as there
    data = "hello" * (5 * 1024 * 1024)
    result = conn.upload("bucket", "foo", data)
    assert result.multipart
    assert len(conn.download("bucket", "foo")) == len(data)
