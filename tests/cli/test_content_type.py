"""``cp``, ``sync`` and ``mv`` guess each file's Content-Type; ``--no-guess-mime-type`` does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import s3po

#: What the local backend, as S3, reports for an object stored without a Content-Type.
STORE_DEFAULT = "binary/octet-stream"


def _types(store: Path, prefix: str) -> dict[str, str | None]:
    with s3po.Connection(backend="local", root=store) as conn:
        return {
            name: conn.head("bkt", name).headers.content_type
            for name in conn.list_names("bkt", prefix)
        }


def test_cp_sync_and_mv_guess_the_type(cli: Any, tmp_path: Path, store: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "index.html").write_bytes(b"<p>hi</p>")
    (tmp_path / "src" / "rows.json").write_bytes(b"[]")
    (tmp_path / "one.css").write_bytes(b"p {}")
    (tmp_path / "moved.svg").write_bytes(b"<svg/>")
    cli("sync", "src", "s3://bkt/site", "--compress", "gzip", check=0)
    cli("cp", "one.css", "s3://bkt/site/one.css", check=0)
    cli("mv", "moved.svg", "s3://bkt/site/moved.svg", check=0)
    assert _types(store, "site/") == {
        "site/index.html": "text/html",
        "site/moved.svg": "image/svg+xml",
        "site/one.css": "text/css",
        "site/rows.json": "application/json",
    }


def test_no_guess_mime_type_and_a_given_type(cli: Any, tmp_path: Path, store: Path) -> None:
    (tmp_path / "a.json").write_bytes(b"{}")
    cli("cp", "--no-guess-mime-type", "a.json", "s3://bkt/plain.json", check=0)
    cli("cp", "--content-type", "text/plain", "a.json", "s3://bkt/given.json", check=0)
    assert _types(store, "") == {"given.json": "text/plain", "plain.json": STORE_DEFAULT}


def test_objects_stored_without_a_type_stay_up_to_date(
    cli: Any, tmp_path: Path, store: Path
) -> None:
    """Objects uploaded before types were guessed are not uploaded again for lack of one."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.json").write_bytes(b"{}")
    cli("sync", "--no-guess-mime-type", "src", "s3://bkt/p", check=0)
    again = cli("sync", "src", "s3://bkt/p", check=0)
    assert again.stdout == b""
    assert _types(store, "p/") == {"p/a.json": STORE_DEFAULT}
    cli("sync", "s3://bkt/p", "down", check=0)
    assert (tmp_path / "down" / "a.json").read_bytes() == b"{}"


def test_the_guessed_type_is_stored_on_a_real_server(
    cli: Any, tmp_path: Path, moto_server: Any
) -> None:
    moto_server.reset()
    moto_server.admin.create_bucket(Bucket="typed")
    env = {
        "AWS_ACCESS_KEY_ID": moto_server.access_key,
        "AWS_SECRET_ACCESS_KEY": moto_server.secret_key,
    }
    remote = ["--endpoint-url", moto_server.endpoint_url, "--region", moto_server.region]
    (tmp_path / "x.json").write_bytes(b'{"a": 1}')
    cli(*remote, "cp", "--compress", "gzip", "x.json", "s3://typed/x.json", backend=False,
        env=env, check=0)  # fmt: skip
    head = moto_server.admin.head_object(Bucket="typed", Key="x.json")
    assert (head["ContentType"], head["ContentEncoding"]) == ("application/json", "gzip")
