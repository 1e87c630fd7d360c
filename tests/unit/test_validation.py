"""check_bucket and check_key: S3's naming rules, before any I/O."""

from __future__ import annotations

import pytest

from s3po import InvalidBucketName, InvalidKey, InvalidRequest, check_bucket, check_key


@pytest.mark.parametrize(
    "name",
    [
        "abc",
        "my-bucket",
        "my.bucket.name",
        "bucket-1.example.com",
        "123",
        "a" * 63,
        "1.2.3",  # only full dotted quads look like IP addresses
        "a-b-c",
        "xn-single-hyphen",
    ],
)
def test_valid_bucket_names(name: str) -> None:
    assert check_bucket(name) == name


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "3 to 63"),
        ("ab", "3 to 63"),
        ("a" * 64, "3 to 63"),
        ("MyBucket", "lower-case"),
        ("my_bucket", "lower-case"),
        ("my bucket", "lower-case"),
        ("-bucket", "start and end"),
        ("bucket-", "start and end"),
        (".bucket", "start and end"),
        ("bucket.", "start and end"),
        ("my..bucket", r"'\.\.'"),
        ("my.-bucket", r"'\.-'"),
        ("my-.bucket", r"'-\.'"),
        ("192.168.5.4", "IP address"),
        ("bücket", "lower-case"),
        ("buck/et", "lower-case"),
    ],
)
def test_invalid_bucket_names(name: str, rule: str) -> None:
    with pytest.raises(InvalidBucketName, match=rule):
        check_bucket(name)


def test_bucket_name_must_be_a_string() -> None:
    with pytest.raises(InvalidBucketName):
        check_bucket(b"bytes-bucket")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "key",
    [
        "k",
        "a/b/c.txt",
        "with space",
        "ünïcødé/ключ/键",
        "emoji-😀",
        "q?x=1&y=2#frag",
        "trailing/",
        "../looks/odd/but/s3/allows",
        "x" * 1024,
        "€" * 341,  # 1023 bytes of UTF-8
        "😀" * 256,  # exactly 1024 bytes
    ],
)
def test_valid_keys(key: str) -> None:
    assert check_key(key) == key


def test_empty_key() -> None:
    with pytest.raises(InvalidKey, match="empty"):
        check_key("")


@pytest.mark.parametrize("key", ["x" * 1025, "€" * 342, "😀" * 256 + "x", "é" * 513])
def test_key_longer_than_1024_utf8_bytes(key: str) -> None:
    assert len(key) <= 1025
    with pytest.raises(InvalidKey, match="1024"):
        check_key(key)


@pytest.mark.parametrize("key", ["\x00", "a\x00b", "end\x00"])
def test_key_with_nul(key: str) -> None:
    with pytest.raises(InvalidKey, match="NUL"):
        check_key(key)


def test_key_with_lone_surrogate() -> None:
    with pytest.raises(InvalidKey, match="surrogate"):
        check_key("bad\udc80key")


def test_key_must_be_a_string() -> None:
    with pytest.raises(InvalidKey):
        check_key(b"key")  # type: ignore[arg-type]


def test_name_errors_are_invalid_requests() -> None:
    assert issubclass(InvalidKey, InvalidRequest)
    assert issubclass(InvalidBucketName, InvalidRequest)
