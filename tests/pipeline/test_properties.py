"""Property tests: random sizes around part boundaries, random codecs, odd Unicode keys."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from typing import Literal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from s3po_local import LocalBackend

import s3po

KIB = 1024
PART = 64 * KIB
THRESHOLD = 128 * KIB

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

boundaries = st.sampled_from([0, PART, THRESHOLD, 2 * PART, 3 * PART, 5 * PART])
sizes = st.builds(lambda b, d: max(0, b + d), boundaries, st.integers(-3, 3)) | st.integers(
    0, 6 * PART
)
codecs = st.sampled_from([None, "gzip", "zstd", "br"])


@SETTINGS
@given(size=sizes, codec=codecs, seed=st.integers(0, 2**32), streamed=st.booleans())
def test_round_trip_around_part_boundaries(
    pconn: s3po.Connection, size: int, codec: str | None, seed: int, streamed: bool
) -> None:
    rng = random.Random(seed)
    # Partly compressible, so compressed sizes land on both sides of the threshold.
    data = rng.randbytes(size // 2) + bytes(size - size // 2)
    if streamed:
        pconn.upload_fileobj("bucket", "p", io.BytesIO(data), compress=codec)
    else:
        pconn.upload_string("bucket", "p", data, compress=codec)
    assert pconn.download_bytes("bucket", "p") == data
    info = pconn.head("bucket", "p")
    assert info.headers.content_encoding == codec
    assert info.is_multipart == (info.size > THRESHOLD)
    if info.is_multipart:
        assert info.etag.endswith(f"-{-(-info.size // PART)}")


_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
segment = st.text(
    alphabet=st.characters(
        blacklist_categories=_SURROGATES, blacklist_characters="/\x00", max_codepoint=0x2FFFF
    ),
    min_size=1,
    max_size=40,
)
keys = st.lists(segment, min_size=1, max_size=4).map("/".join)


@SETTINGS
@given(key=keys)
def test_odd_unicode_keys_round_trip(pconn: s3po.Connection, store: LocalBackend, key: str) -> None:
    try:
        s3po.check_key(key)
        store._parts("bucket", key)
    except s3po.InvalidKey:
        assume(condition=False)
    payload = key.encode("utf-8")
    try:
        pconn.upload_string("bucket", key, payload, compress="gzip")
    except s3po.S3poError:
        return  # a typed refusal is acceptable; a raw OSError is not
    try:
        assert pconn.download_bytes("bucket", key) == payload
        assert key in pconn.list_names("bucket")
        assert pconn.exists("bucket", key)
    finally:
        pconn.delete("bucket", key)
    assert not pconn.exists("bucket", key)
    assert pconn.list_names("bucket") == []


@SETTINGS
@given(key=st.text(min_size=0, max_size=300))
def test_any_key_round_trips_or_raises_a_typed_error(pconn: s3po.Connection, key: str) -> None:
    try:
        pconn.upload_string("bucket", key, b"x")
    except s3po.S3poError:
        return
    try:
        assert pconn.download_bytes("bucket", key) == b"x"
    finally:
        pconn.delete("bucket", key)


@pytest.mark.parametrize("length", [251, 300, 1000])
def test_key_segment_too_long_for_a_file_name_is_invalid(
    pconn: s3po.Connection, store: LocalBackend, assert_clean: Callable[..., None], length: int
) -> None:
    key = "dir/" + "é" * (length // 2) + "x" * (length % 2)
    with pytest.raises(s3po.InvalidKey, match="segment"):
        pconn.upload_string("bucket", key, b"x")
    # Nothing half-written, and the bucket still lists.
    assert pconn.list_names("bucket") == []
    assert not (store.root / "bucket" / "dir").exists()
    assert_clean()


def test_longest_segment_the_local_backend_holds(pconn: s3po.Connection) -> None:
    key = "a" * 250
    pconn.upload_string("bucket", key, b"x")
    assert pconn.download_bytes("bucket", key) == b"x"
    assert pconn.list_names("bucket") == [key]
