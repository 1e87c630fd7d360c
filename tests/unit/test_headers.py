"""parse_headers: HTTP and boto3 spellings into s3po.Headers."""

from __future__ import annotations

import pytest

import s3po
from s3po import Headers, InvalidRequest, parse_headers


def test_nothing_gives_none() -> None:
    assert parse_headers() is None
    assert parse_headers({}, {}) is None


@pytest.mark.parametrize("name", ["Content-Type", "content-type", "CONTENT-TYPE", " Content-Type "])
def test_names_are_case_insensitive(name: str) -> None:
    assert parse_headers({name: "application/json"}) == Headers(content_type="application/json")


def test_every_standard_header() -> None:
    parsed = parse_headers(
        {
            "Content-Type": "text/csv",
            "Content-Encoding": "gzip",
            "Cache-Control": "max-age=60",
            "Content-Disposition": 'attachment; filename="a.csv"',
            "Content-Language": "en",
        }
    )
    assert parsed == Headers(
        content_type="text/csv",
        content_encoding="gzip",
        cache_control="max-age=60",
        content_disposition='attachment; filename="a.csv"',
        content_language="en",
    )


def test_boto_style_names() -> None:
    parsed = parse_headers(
        {
            "ContentType": "text/plain",
            "CacheControl": "no-cache",
            "ContentDisposition": "inline",
            "ContentEncoding": "zstd",
            "ContentLanguage": "de",
            "StorageClass": "STANDARD_IA",
            "ServerSideEncryption": "AES256",
            "Metadata": {"Owner": "me"},
        }
    )
    assert parsed is not None
    assert parsed.content_type == "text/plain"
    assert parsed.cache_control == "no-cache"
    assert parsed.content_disposition == "inline"
    assert parsed.content_encoding == "zstd"
    assert parsed.content_language == "de"
    assert parsed.extra == {"StorageClass": "STANDARD_IA", "ServerSideEncryption": "AES256"}
    assert parsed.metadata == {"owner": "me"}


def test_amz_option_headers() -> None:
    parsed = parse_headers(
        {
            "x-amz-storage-class": "GLACIER",
            "X-Amz-Server-Side-Encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": "key-1",
            "x-amz-acl": "private",
            "x-amz-tagging": "a=1",
            "Expires": "Wed, 21 Oct 2015 07:28:00 GMT",
        }
    )
    assert parsed is not None
    assert parsed.extra == {
        "StorageClass": "GLACIER",
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "key-1",
        "ACL": "private",
        "Tagging": "a=1",
        "Expires": "Wed, 21 Oct 2015 07:28:00 GMT",
    }


def test_user_metadata_from_headers_and_metadata() -> None:
    parsed = parse_headers(
        {"x-amz-meta-Origin": "camera", "X-AMZ-META-batch": "7"},
        metadata={"Owner": "ops", "x-amz-meta-run": "3"},
    )
    assert parsed is not None
    assert parsed.metadata == {"origin": "camera", "batch": "7", "owner": "ops", "run": "3"}


def test_metadata_alone() -> None:
    assert parse_headers(metadata={"a.b_c-d": "1"}) == Headers(metadata={"a.b_c-d": "1"})


def test_headers_object_passes_through_and_merges_metadata() -> None:
    base = Headers(content_type="a/b", metadata={"x": "1"}, extra={"ACL": "private"})
    assert parse_headers(base) is base
    merged = parse_headers(base, {"y": "2"})
    assert merged == Headers(content_type="a/b", metadata={"x": "1", "y": "2"}, extra=base.extra)


@pytest.mark.parametrize("name", ["X-Custom", "Authorization", "Host", "Content-MD5", "Range"])
def test_unknown_header_is_refused(name: str) -> None:
    with pytest.raises(InvalidRequest, match="unsupported header"):
        parse_headers({name: "v"})


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\x00b"])
def test_line_breaks_and_nul_in_values_are_refused(value: str) -> None:
    with pytest.raises(InvalidRequest, match="line break"):
        parse_headers({"Content-Type": value})
    with pytest.raises(InvalidRequest):
        parse_headers({"x-amz-meta-note": value})
    with pytest.raises(InvalidRequest):
        parse_headers(metadata={"note": value})


def test_non_string_value_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="must be a str"):
        parse_headers({"Content-Type": 5})


@pytest.mark.parametrize("name", ["", "has space", "ключ", "a/b", "a:b"])
def test_bad_metadata_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidRequest, match="metadata name"):
        parse_headers(metadata={name: "v"})


def test_non_ascii_metadata_value_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="ASCII"):
        parse_headers(metadata={"note": "café"})


def test_invalid_request_is_a_value_error() -> None:
    assert issubclass(InvalidRequest, ValueError)
    assert issubclass(InvalidRequest, s3po.S3poError)
