"""The typed API is real: ``mypy --strict`` reports every misspelled or mistyped call.

One mypy run checks two files written here: ``wrong.py``, whose every line marked ``# E``
must be reported (and no other line), and ``right.py``, correct calls whose result types
are pinned by annotated assignments, which must check clean. The same mistakes are then
made at run time, where they raise before any I/O.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from mypy import api

import s3po
from s3po.client.options import (
    DownloadFileOptions,
    DownloadOptions,
    DownloadStringOptions,
    DownloadToOptions,
    UploadFileOptions,
    UploadOptions,
)

ROOT = Path(__file__).resolve().parent.parent

WRONG = """
from __future__ import annotations

import asyncio
from pathlib import Path

import s3po


def sync(conn: s3po.Connection, path: Path) -> None:
    conn.uplod_string("b", "k", "x")  # E misspelled call
    conn.uploadStrng("b", "k", "x")  # E misspelled camelCase call
    conn.upload_string("b", "k", "x", compresss="gzip")  # E misspelled keyword
    conn.uploadString("b", "k", "x", compresss="gzip")  # E misspelled keyword, camelCase
    conn.upload_string("b", "k", "x", retries="three")  # E mistyped keyword
    conn.upload_string("b", "k", 42)  # E mistyped data
    conn.upload_file("b", "k", path, delete="yes")  # E mistyped keyword
    conn.download_bytes("b", "k", retris=2)  # E misspelled keyword
    conn.download_string("b", "k", encodng="latin-1")  # E misspelled keyword
    conn.download_file("b", "k", path, progres=print)  # E misspelled keyword
    conn.download_string("b", "k", callback=lambda r: r.size)  # E callback gets a str
    r: s3po.UploadResult = conn.upload_string("b", "k", "x", background=True)  # E a Handle
    h: s3po.Handle[s3po.UploadResult] = conn.upload_string("b", "k", "x")  # E a result
    size: int = conn.download_bytes("b", "k", background=True).size  # E a Handle has no size
    text: str = conn.download_bytes("b", "k")  # E bytes, not str
    conn.upload("b", "k", "x", silnt=True)  # E misspelled keyword of the original's upload
    conn.uploadString("b", "k", "x", silent="yes")  # E mistyped silent=
    conn.downloadFile("b", "k", filenam=path)  # E misspelled filename=
    conn.downloadFile("b", "k", filename=path, tempdri=path)  # E misspelled tempdir=
    result: s3po.DownloadResult = conn.downloadFile("b", "k", filename=path)  # E a path
    conn.download("b", "k", encodng="latin-1")  # E misspelled keyword of download
    s3po.Connection.memory().uplod("b", "k", "x")  # E misspelled call


def batch(conn: s3po.Connection) -> None:
    with conn.batch(4) as batch:
        batch.uplod_string("b", "k", "x")  # E misspelled call
        batch.upload("b", "k", "x", retries="three")  # E mistyped keyword
        batch.upload_string("b", "k", "x", compresss="gzip")  # E misspelled keyword
        batch.download_bytes("b", "k", retries="three")  # E mistyped keyword
        r: s3po.UploadResult = batch.upload_string("b", "k", "x")  # E a batch gives Handles
        d: bytes = batch.download_bytes("b", "k")  # E a Handle, not bytes


async def aio(conn: s3po.AsyncConnection) -> None:
    await conn.uplod_strng("b", "k", "x")  # E misspelled call
    await conn.upload_string("b", "k", "x", compresss="gzip")  # E misspelled keyword
    await conn.downloadString("b", "k", retries="three")  # E mistyped keyword
    text: str = await conn.download_bytes("b", "k")  # E bytes, not str
    async with conn.batch(4) as batch:
        batch.uplod_string("b", "k", "x")  # E misspelled call
        batch.download_bytes("b", "k", decompres=False)  # E misspelled keyword
        task: asyncio.Task[str] = batch.download_bytes("b", "k")  # E Task[bytes]
"""

RIGHT = """
from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import s3po


def sync(conn: s3po.Connection, path: Path, flag: bool, legacy: dict[str, Any]) -> None:
    r: s3po.UploadResult = conn.upload_string("b", "k", "x", compress="gzip", retries=2)
    h: s3po.Handle[s3po.UploadResult] = conn.upload_string("b", "k", "x", background=True)
    r = conn.uploadString("b", "k", b"x", compress=None, metadata={"a": "1"})
    r = conn.upload_file("b", "k", path, delete=True, progress=print)
    r = conn.upload_fileobj("b", "k", io.BytesIO(b"x"), headers={"Content-Type": "x/y"})
    h = conn.upload_string("b", "k", "x", **legacy)  # the seed's async= stays reachable
    either: s3po.UploadResult | s3po.Handle[s3po.UploadResult]
    either = conn.upload_string("b", "k", "x", background=flag)
    data: bytes = conn.download_bytes("b", "k", decompress=False)
    text: str = conn.downloadString("b", "k", encoding="latin-1", callback=lambda s: s.upper())
    d: s3po.DownloadResult = conn.download_file("b", "k", path, progress=print)
    hd: s3po.Handle[s3po.DownloadResult] = conn.download_fileobj(
        "b", "k", io.BytesIO(), background=True
    )
    hb: s3po.Handle[bytes] = conn.download_bytes("b", "k", background=True)
    info: s3po.ObjectInfo = conn.head("b", "k")
    names: list[str] = conn.list_names("b")
    r = conn.upload("b", "k", io.StringIO("x"), silent=False, headers={"Content-Type": "x/y"})
    text = conn.download("b", "k", retries=2)
    d = conn.download("b", "k", io.BytesIO())
    where: str = conn.downloadFile("b", "k", filename=path, retries=2)
    where = conn.downloadFile("b", "k", tempdir=path)
    d = conn.downloadFile("b", "k", path, retries=1)
    hw: s3po.Handle[str] = conn.downloadFile("b", "k", background=True)


def batch(conn: s3po.Connection) -> None:
    with conn.batch(4) as batch:
        h: s3po.Handle[s3po.UploadResult] = batch.upload_string("b", "k", "x", compress="gzip")
        hs: s3po.Handle[str] = batch.downloadString("b", "k", retries=1)
        hb: s3po.Handle[bytes] = batch.download_bytes("b", "k", background=True)
        value: str = hs.value
        hs = batch.download("b", "k")
        hs = batch.downloadFile("b", "k", filename=Path("x"))
        h = batch.upload("b", "k", b"x")
    ok: bool = batch.success()


async def aio(conn: s3po.AsyncConnection, path: Path) -> None:
    r: s3po.UploadResult = await conn.upload_string("b", "k", "x", compress="gzip")
    r = await conn.uploadFile("b", "k", path, delete=False)
    text: str = await conn.downloadString("b", "k", encoding="utf-8")
    d: s3po.DownloadResult = await conn.download_file("b", "k", path)
    ok: bool = await conn.exists("b", "k")
    names: list[str] = await conn.listNames("b")
    async with conn.batch(4) as batch:
        t: asyncio.Task[s3po.UploadResult] = batch.upload_string("b", "k", "x", retries=0)
        tb: asyncio.Task[bytes] = batch.downloadBytes("b", "k", decompress=True)
        ti: asyncio.Task[s3po.ObjectInfo] = batch.head("b", "k")
"""


def _marked(source: str) -> set[int]:
    return {n for n, line in enumerate(source.splitlines(), 1) if "# E " in line}


def test_mypy_strict_reports_every_wrong_call_and_passes_the_right_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    wrong, right = probe / "wrong.py", probe / "right.py"
    wrong.write_text(textwrap.dedent(WRONG).lstrip())
    right.write_text(textwrap.dedent(RIGHT).lstrip())
    monkeypatch.chdir(ROOT)  # s3po and the plugins resolve from this tree
    stdout, stderr, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--strict",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-error-summary",
            "--hide-error-context",
            "--show-error-codes",
            str(wrong),
            str(right),
        ]
    )
    assert "s3po" not in stderr, stderr
    reported: dict[str, set[int]] = {"wrong.py": set(), "right.py": set()}
    for match in re.finditer(r"^.*?(wrong|right)\.py:(\d+): error:", stdout, re.MULTILINE):
        reported[f"{match[1]}.py"].add(int(match[2]))
    assert reported["right.py"] == set(), stdout
    expected = _marked(textwrap.dedent(WRONG).lstrip())
    assert len(expected) == 35
    missed = sorted(expected - reported["wrong.py"])
    unexpected = sorted(reported["wrong.py"] - expected)
    assert (missed, unexpected) == ([], []), stdout
    assert status == 1


def test_mistakes_mypy_reports_are_refused_at_run_time_too(tmp_path: Path) -> None:
    conn = s3po.Connection(backend="local", root=tmp_path / "store")
    conn.create_bucket("bucket")
    wrong: list[tuple[str, tuple[Any, ...], dict[str, Any], type[Exception], str]] = [
        (
            "upload_string",
            ("bucket", "k", "x"),
            {"compresss": "gzip"},
            s3po.UnknownArgument,
            "compress=",
        ),
        ("upload_string", ("bucket", "k", "x"), {"retries": "three"}, s3po.ConfigError, "retries="),
        ("upload_string", ("bucket", "k", "x"), {"retries": True}, s3po.ConfigError, "retries="),
        (
            "upload_file",
            ("bucket", "k", tmp_path),
            {"compres": None},
            s3po.UnknownArgument,
            "compress",
        ),
        ("uploadString", ("bucket", "k", "x"), {"compress": 9}, s3po.ConfigError, "compress="),
        ("download_bytes", ("bucket", "k"), {"retries": 1.5}, s3po.ConfigError, "retries="),
        ("download_string", ("bucket", "k"), {"decompress": "no"}, s3po.ConfigError, "decompress="),
    ]
    for call, args, kwargs, error, needle in wrong:
        with pytest.raises(error, match=needle):
            getattr(conn, call)(*args, **kwargs)
    assert conn.list_names("bucket") == []  # all refused before any I/O
    conn.close()


def test_async_front_end_results_and_the_seed_alias(tmp_path: Path) -> None:
    legacy: dict[str, Any] = {"async": True}
    typo: dict[str, Any] = {"compresss": "gzip"}
    mistyped: dict[str, Any] = {"retries": "three"}

    async def main() -> None:
        async with s3po.AsyncConnection(backend="local", root=tmp_path / "store") as conn:
            with pytest.raises(s3po.UnknownArgument, match="did you mean compress="):
                await conn.upload_string("bucket", "k", "x", **typo)
            with pytest.raises(s3po.ConfigError, match="retries="):
                await conn.upload_string("bucket", "k", "x", **mistyped)
            await conn.upload_string("bucket", "k", "x")
            async with conn.batch(2) as batch:
                task = batch.downloadBytes("bucket", "k")
                copied = batch.copy("bucket", "k", "bucket", "k2")
            assert task.result() == b"x"
            assert copied.result().key == "k2"
            with pytest.warns(DeprecationWarning, match="background=True"):
                handle = conn.sync.upload_string("bucket", "k3", "y", **legacy)
            assert isinstance(handle, s3po.Handle)
            assert handle.value.key == "k3"

    asyncio.run(main())


@pytest.mark.parametrize(
    ("call", "options"),
    [
        ("upload_string", UploadOptions),
        ("upload_file", UploadFileOptions),
        ("upload_fileobj", UploadOptions),
        ("download_bytes", DownloadOptions),
        ("download_string", DownloadStringOptions),
        ("download_file", DownloadFileOptions),
        ("download_fileobj", DownloadToOptions),
    ],
)
def test_each_typed_option_is_a_keyword_of_its_call(call: str, options: Any) -> None:
    # mypy checks the implementation accepts every option; this checks the converse, so a
    # keyword added to a call is offered to type checkers (and AsyncConnection) too.
    parameters = inspect.signature(getattr(s3po.Connection, call)).parameters.values()
    keywords = {p.name for p in parameters if p.kind is p.KEYWORD_ONLY} - {"background"}
    assert keywords == options.__required_keys__ | options.__optional_keys__
