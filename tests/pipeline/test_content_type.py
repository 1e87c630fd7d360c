"""``upload_file`` guesses Content-Type from the file's extension, as aws-cli, s5cmd, rclone do.

Only when the caller gave none (in the call or the Connection's headers), and never with
``guess_content_type=False``. A compressed upload keeps the type of its content; a file
whose extension names a compression (``x.json.gz``) is that compressed format, unless it is
uploaded with that Content-Encoding, when it is the content's type again.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

import s3po

#: What the local backend, as S3, reports for an object stored without a Content-Type.
STORE_DEFAULT = "binary/octet-stream"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("page.html", "text/html"),
        ("data.json", "application/json"),
        ("photo.png", "image/png"),
        ("table.csv", "text/csv"),
        ("archive.tar.gz", "application/gzip"),
        ("no-extension", STORE_DEFAULT),
    ],
)
def test_the_type_is_guessed_from_the_extension(
    make_conn: Callable[..., s3po.Connection], tmp_path: Path, name: str, expected: str
) -> None:
    conn = make_conn()
    path = tmp_path / name
    path.write_bytes(b"bytes")
    conn.upload_file("bucket", "k", path)
    assert conn.head("bucket", "k").headers.content_type == expected


def test_a_compressed_upload_keeps_the_type_of_its_content(
    make_conn: Callable[..., s3po.Connection], tmp_path: Path
) -> None:
    conn = make_conn()
    path = tmp_path / "x.json"
    path.write_bytes(b'{"a": 1}')
    conn.upload_file("bucket", "k", path, compress="gzip")
    headers = conn.head("bucket", "k").headers
    assert (headers.content_type, headers.content_encoding) == ("application/json", "gzip")
    assert conn.download_bytes("bucket", "k") == b'{"a": 1}'


def test_a_pre_encoded_upload_has_the_type_of_what_it_decodes_to(
    make_conn: Callable[..., s3po.Connection], tmp_path: Path
) -> None:
    conn = make_conn()
    path = tmp_path / "x.json.gz"
    path.write_bytes(gzip.compress(b'{"a": 1}'))
    conn.upload_file("bucket", "k", path, headers={"Content-Encoding": "gzip"})
    headers = conn.head("bucket", "k").headers
    assert (headers.content_type, headers.content_encoding) == ("application/json", "gzip")


def test_a_given_type_wins_and_guessing_can_be_turned_off(
    make_conn: Callable[..., s3po.Connection], tmp_path: Path
) -> None:
    conn = make_conn()
    path = tmp_path / "x.json"
    path.write_bytes(b"{}")
    conn.upload_file("bucket", "given", path, headers={"Content-Type": "text/plain"})
    conn.upload_file("bucket", "off", path, guess_content_type=False)
    assert conn.head("bucket", "given").headers.content_type == "text/plain"
    assert conn.head("bucket", "off").headers.content_type == STORE_DEFAULT
    root = tmp_path / "store"  # the local store make_conn's connections use
    with s3po.Connection(
        "local", root=root, headers={"Content-Type": "application/x-ndjson"}
    ) as typed:
        typed.upload_file("bucket", "conn-headers", path)
    assert conn.head("bucket", "conn-headers").headers.content_type == "application/x-ndjson"
    with s3po.Connection("local", root=root, guess_content_type=False) as plain:
        plain.upload_file("bucket", "conn-off", path)
        plain.upload_file("bucket", "call-on", path, guess_content_type=True)
    assert conn.head("bucket", "conn-off").headers.content_type == STORE_DEFAULT
    assert conn.head("bucket", "call-on").headers.content_type == "application/json"


def test_a_batch_guesses_too(make_conn: Callable[..., s3po.Connection], tmp_path: Path) -> None:
    conn = make_conn()
    path = tmp_path / "x.html"
    path.write_bytes(b"<p>")
    with conn.batch(2) as batch:
        batch.upload_file("bucket", "k", path)
    assert conn.head("bucket", "k").headers.content_type == "text/html"


def test_a_wrong_type_of_option_is_refused_before_any_io(
    make_conn: Callable[..., s3po.Connection], tmp_path: Path
) -> None:
    conn = make_conn()
    path = tmp_path / "x.json"
    path.write_bytes(b"{}")
    with pytest.raises(s3po.ConfigError, match="guess_content_type"):
        conn.upload_file("bucket", "k", path, guess_content_type="no")  # type: ignore[call-overload]
    assert not conn.exists("bucket", "k")
