"""Errors in the command line's words; mistyped commands; ``cat`` carries on past a failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import s3po
from s3po._cli.output import cli_words


@pytest.fixture
def odd(store: Path) -> Path:
    with s3po.Connection(backend="local", root=store) as conn:
        conn.upload_string("bkt", "a.txt", b"alpha\n")
        conn.upload_string("bkt", "odd", b"xx", headers={"Content-Encoding": "klingon"})
        conn.upload_string("bkt", "z.txt", b"zulu\n")
    return store


@pytest.mark.usefixtures("odd")
def test_an_unknown_encoding_points_to_the_flag(cli: Any) -> None:
    err = cli("cp", "s3://bkt/odd", "out", check=2).stderr.decode()
    assert "--no-decompress" in err
    assert "decompress=False" not in err
    assert cli("cp", "--no-decompress", "s3://bkt/odd", "-", check=0).stdout == b"xx"


@pytest.mark.usefixtures("odd")
def test_a_missing_bucket_says_how_to_make_it(cli: Any) -> None:
    err = cli("ls", "s3://nobucket/x", check=1).stderr.decode()
    assert "create it with `s3po mb s3://nobucket`" in err
    assert "create_bucket()" not in err


def test_library_words_become_cli_words() -> None:
    assert (
        cli_words("download with decompress=False to get") == "download with --no-decompress to get"
    )
    assert cli_words(
        "get s3://logs/k failed at http://h (NoSuchBucket); create it with create_bucket()"
    ).endswith("create it with `s3po mb s3://logs`")
    assert cli_words("no such bucket; create it with create_bucket()").endswith(
        "`s3po mb s3://BUCKET`"
    )


def test_an_endpoint_without_scheme_says_add_http(cli: Any) -> None:
    err = cli("--endpoint-url", "127.0.0.1:9000", "ls", "s3://b", backend=False, check=2)
    assert "add http://" in err.stderr.decode()
    assert "--endpoint-url http://127.0.0.1:9000" in err.stderr.decode()


@pytest.mark.parametrize(
    ("typed", "meant"), [("sycn", "sync"), ("lss", "ls"), ("presgin", "presign")]
)
def test_a_mistyped_command_suggests_the_right_one(cli: Any, typed: str, meant: str) -> None:
    err = cli(typed, "x", check=2).stderr.decode()
    assert f"did you mean {meant!r}?" in err


def test_an_unlike_command_gets_no_suggestion(cli: Any) -> None:
    err = cli("frobnicate", check=2).stderr.decode()
    assert "invalid choice" in err
    assert "did you mean" not in err


@pytest.mark.usefixtures("odd")
def test_cat_carries_on_past_a_failed_object(cli: Any) -> None:
    result = cli("cat", "s3://bkt/a.txt", "s3://bkt/missing", "s3://bkt/z.txt", check=1)
    assert result.stdout == b"alpha\nzulu\n"
    assert result.stderr.decode().splitlines() == [
        "s3po: error: cat s3://bkt/missing: no object 'missing' in bucket 'bkt' (s3://bkt/missing)"
    ]
    # an object no codec decodes is bad input: status 2, the others still written
    mixed = cli("cat", "s3://bkt/odd", "s3://bkt/z.txt", check=2)
    assert mixed.stdout == b"zulu\n"
    assert "--no-decompress" in mixed.stderr.decode()
    cli("cat", "s3://bkt/missing", check=1)
