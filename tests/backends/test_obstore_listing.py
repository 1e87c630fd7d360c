"""The default backend lists without boto3: the S3 backend's entries and errors, exactly.

The obstore backend signs its own ListObjectsV2 requests when the credentials are static
(:mod:`s3po_obstore._listing`); these tests hold its listings against the boto3 S3
backend's on both real servers (odd keys, delimiters, ``start_after``, many pages), show
that no boto3 backend was made for them, and that every failure is a typed error (a missing
bucket, a wrong secret, a refused connection, a fault on page two resumed by the retry
layer, a page that says it goes on with no token). A CLI copy of one file to a server
imports no boto3.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from collections.abc import Generator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from s3po_obstore._listing import Lister, Page, Redirected, entries, parse_page
from s3po_obstore.backend import ObstoreBackend
from s3po_s3.backend import S3Backend

import s3po

#: Keys a listing must give back exactly (object_store's own listing could not).
KEYS = (
    "a",
    "a b",
    "a+b",
    "a%2Bb",
    "dir/",
    "dir/x",
    "dir//y",
    "dir/sub/z",
    "dir/sub/zz",
    "e\u0301/\u00fc",
    "z&<q>'\"",
)


def _faults() -> ModuleType:
    name = "s3po_test_faults"
    if name not in sys.modules:
        path = Path(__file__).parents[1] / "faults.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def backends(s3_server: Any, s3_bucket: str) -> Iterator[tuple[ObstoreBackend, S3Backend]]:
    for key in KEYS:
        s3_server.admin.put_object(Bucket=s3_bucket, Key=key, Body=key.encode())
    lean = ObstoreBackend(**s3_server.options())
    lean._lister.page_size = 2  # type: ignore[union-attr]  # many pages from a few keys
    boto = S3Backend(**s3_server.options())
    yield lean, boto
    lean.close()
    boto.close()


#: (prefix, delimiter, start_after) of the listings compared, all on one set of keys.
LISTINGS = [
    ("", None, None),
    ("", "/", None),
    ("dir/", None, None),
    ("dir/", "/", None),
    ("dir/s", "/", None),
    ("", None, "a+b"),
    ("", "/", "dir/"),
    ("dir/", None, "dir//y"),
    ("nothing/", None, None),
]


@pytest.mark.integration
def test_listings_are_the_s3_backends(
    backends: tuple[ObstoreBackend, S3Backend], s3_bucket: str
) -> None:
    lean, boto = backends
    for prefix, delimiter, start_after in LISTINGS:
        got = list(lean.list(s3_bucket, prefix, delimiter, start_after=start_after))
        want = list(boto.list(s3_bucket, prefix, delimiter, start_after=start_after))
        assert got == want, (prefix, delimiter, start_after)
    assert lean._s3 is None  # listed without boto3


@pytest.mark.integration
def test_a_missing_bucket_is_no_such_bucket(s3_server: Any) -> None:
    backend = ObstoreBackend(**s3_server.options())
    with pytest.raises(s3po.NoSuchBucket, match="s3po-no-such-bucket") as caught:
        list(backend.list("s3po-no-such-bucket", "p/"))
    assert caught.value.backend == "obstore"
    assert backend._s3 is None
    backend.close()


@pytest.mark.integration
def test_a_wrong_secret_is_access_denied(seaweedfs_server: Any) -> None:
    options = {**seaweedfs_server.options(), "aws_secret_access_key": "wrong"}
    backend = ObstoreBackend(**options)
    with pytest.raises(s3po.AccessDenied):
        list(backend.list("any-bucket"))
    backend.close()


def test_a_refused_connection_is_transient() -> None:
    backend = ObstoreBackend(
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="id",
        aws_secret_access_key="secret",  # noqa: S106
    )
    with pytest.raises(s3po.TransientError, match=r"connection to http://127\.0\.0\.1:9"):
        list(backend.list("b"))
    backend.close()


@pytest.mark.integration
def test_credentials_from_the_environment_list_lean(
    seaweedfs_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweedfs_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweedfs_server.secret_key)
    bucket = "s3po-lean-env-credentials"
    seaweedfs_server.admin.create_bucket(Bucket=bucket)
    seaweedfs_server.admin.put_object(Bucket=bucket, Key="k", Body=b"x")
    backend = ObstoreBackend(endpoint_url=seaweedfs_server.endpoint_url)
    try:
        assert [e.key for e in backend.list(bucket) if isinstance(e, s3po.ObjectInfo)] == ["k"]
        assert backend._s3 is None
    finally:
        backend.close()
        seaweedfs_server.admin.delete_bucket(Bucket=bucket)


@pytest.mark.parametrize("env", [{"HTTPS_PROXY": "http://proxy:3128"}, {"http_proxy": "p:1"}])
def test_what_it_cannot_serve_lists_through_boto3(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    backend = ObstoreBackend(
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="id",
        aws_secret_access_key="secret",  # noqa: S106
    )
    assert backend._lister is None
    backend.close()


@pytest.mark.integration
def test_a_fault_on_page_two_resumes_after_the_last_entry(moto_server: Any) -> None:
    moto_server.reset()
    moto_server.admin.create_bucket(Bucket="faults")
    for i in range(5):
        moto_server.admin.put_object(Bucket="faults", Key=f"k{i}", Body=b"x")
    with _faults().FaultProxy(moto_server.endpoint_url) as proxy:
        options = {**moto_server.options(), "endpoint_url": proxy.url}
        with s3po.Connection(backend="obstore", **options) as conn:
            lister = conn.backend._lister  # type: ignore[attr-defined]
            lister.page_size = 2
            proxy.configure(_faults().FaultPlan())
            proxy.inject("slowdown", match=lambda r: "continuation-token" in r.params)
            proxy.inject(
                "reset_before",
                match=lambda r: (
                    "continuation-token" in r.params and r.params.get("start-after") == "k1"
                ),
            )
            keys = [e.key for e in conn.list("faults") if isinstance(e, s3po.ObjectInfo)]
        faults = [r.fault for r in proxy.records if r.fault]
    assert keys == [f"k{i}" for i in range(5)]
    assert faults == ["slowdown", "reset_before"]


def test_a_truncated_page_without_a_token_is_an_error() -> None:
    body = (
        b'<?xml version="1.0"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<IsTruncated>true</IsTruncated><Contents><Key>k</Key><Size>1</Size></Contents>"
        b"</ListBucketResult>"
    )
    with pytest.raises(ValueError, match="no continuation token"):
        parse_page(body)
    with pytest.raises(ValueError, match="ListBucketResult"):
        parse_page(b"<Error><Code>InternalError</Code></Error>")
    cut = body.replace(b"true", b"false")[:-20]
    with pytest.raises(ValueError, match="does not parse"):
        parse_page(cut)


@pytest.mark.integration
def test_copying_one_file_to_a_server_imports_no_boto3(
    s3_server: Any, s3_bucket: str, tmp_path: Path
) -> None:
    """``cp FILE s3://b/name`` LISTs ``name/`` to see whether it is a folder: lean now."""
    (tmp_path / "a.txt").write_bytes(b"hello")
    script = textwrap.dedent(
        f"""
        import sys
        from s3po.cli import main
        status = main(["--endpoint-url", {s3_server.endpoint_url!r}, "cp", "-q",
                       {str(tmp_path / "a.txt")!r}, "s3://{s3_bucket}/a.txt"])
        assert status == 0, status
        print(" ".join(sorted(sys.modules)))
        """
    )
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "AWS_DEFAULT_REGION": s3_server.region,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
    }
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    loaded = set(out.stdout.split())
    assert "s3po_obstore.backend" in loaded
    assert not loaded & {"boto3", "botocore", "s3transfer", "asyncio"}
    got = s3_server.admin.get_object(Bucket=s3_bucket, Key="a.txt")["Body"].read()
    assert got == b"hello"


class _MovedAfterOnePage(Lister):
    """A lister whose store answers one page, then that the bucket is in another region."""

    def __init__(self) -> None:
        pass

    def pages(
        self, bucket: str, prefix: str, delimiter: str | None, start_after: str | None
    ) -> Generator[Page, None, None]:
        del bucket, prefix, delimiter, start_after
        yield Page([("a", 1, "e", None)], ["b/"], "token")
        raise Redirected("PermanentRedirect")


def test_a_redirect_goes_on_through_boto3_after_the_last_entry() -> None:
    asked: list[str | None] = []

    def through_boto3(last: str | None) -> Iterator[s3po.ObjectInfo | s3po.CommonPrefix]:
        asked.append(last)
        yield s3po.ObjectInfo(bucket="bkt", key="c", size=1, etag="e")

    got = list(entries(_MovedAfterOnePage(), "bkt", "", "/", None, redirected=through_boto3))
    assert [getattr(e, "key", None) or getattr(e, "prefix", None) for e in got] == [
        "a",
        "b/",
        "c",
    ]
    assert asked == ["b/"]
