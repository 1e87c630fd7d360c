"""Failure paths: each raises its typed error and leaves nothing lost or half-done."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from s3po_local import LocalBackend

import s3po
from s3po.testing import FlakyBackend

KIB = 1024
PART = 64 * KIB
THRESHOLD = 128 * KIB
BIG = 5 * PART + 3


def _data(n: int) -> bytes:
    return random.Random(n).randbytes(n)


class SourceBroke(Exception):
    """What the caller's own stream raises."""


class BreakingStream(io.RawIOBase):
    """A stream that raises ``error`` once ``after`` bytes have been read."""

    def __init__(self, data: bytes, after: int, error: BaseException) -> None:
        self._data = io.BytesIO(data)
        self._after = after
        self._error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._data.tell() >= self._after:
            raise self._error
        chunk = self._data.read(min(len(buffer), self._after - self._data.tell()))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class FailPart(s3po.ForwardingBackend):
    """Fails one part number with ``error`` every time it is sent."""

    def __init__(self, inner: s3po.Backend, number: int, error: Callable[[], Exception]) -> None:
        super().__init__(inner)
        self.number = number
        self.error = error
        self.sent: list[int] = []

    def put_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        data: Any,
    ) -> s3po.PartInfo:
        self.sent.append(part_number)
        if part_number == self.number:
            raise self.error()
        return super().put_part(bucket, key, upload_id, part_number, data)


class LyingHead(s3po.ForwardingBackend):
    """Reports a different ETag on HEAD, as if another writer replaced the object."""

    def head(self, bucket: str, key: str) -> s3po.ObjectInfo:
        info = super().head(bucket, key)
        return s3po.ObjectInfo(bucket=bucket, key=key, size=info.size, etag="0" * 32)


class FailRanges(s3po.ForwardingBackend):
    """Every ranged GET past the first byte fails transiently."""

    def get(self, bucket: str, key: str, **kw: Any) -> s3po.GetResult:
        if kw.get("start", 0) > 0:
            raise s3po.TransientError("range request timed out")
        return super().get(bucket, key, **kw)


# -- multipart uploads that fail ----------------------------------------------------------


@pytest.mark.parametrize("codec", [None, "gzip"])
@pytest.mark.parametrize("kind", ["bytes", "stream"])
def test_part_failing_non_transiently_aborts_the_upload(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    assert_clean: Callable[..., None],
    sleeps: list[float],
    codec: str | None,
    kind: str,
) -> None:
    flaky = FlakyBackend(
        store, {"put_part": 1}, error=lambda op: s3po.BackendError(f"{op}: disk full")
    )
    conn = make_conn(flaky)
    data = _data(BIG)
    stream = BreakingStream(data, len(data) + 1, SourceBroke())

    def upload() -> object:
        if kind == "bytes":
            return conn.upload_string("bucket", "big", data, compress=codec)
        return conn.upload_fileobj("bucket", "big", stream, compress=codec)  # type: ignore[call-overload]

    with pytest.raises(s3po.BackendError, match="disk full") as info:
        upload()
    assert not isinstance(info.value, s3po.RetriesExhausted | s3po.TransientError)
    assert sleeps == []  # not retried
    assert flaky.calls["start_multipart"] == 1
    assert "complete_multipart" not in flaky.calls
    assert_clean("big")


@pytest.mark.parametrize("number", [1, 3, 6])
def test_any_failing_part_aborts_the_upload(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    assert_clean: Callable[..., None],
    number: int,
) -> None:
    failing = FailPart(store, number, lambda: s3po.AccessDenied("no writes today"))
    conn = make_conn(failing)
    with pytest.raises(s3po.AccessDenied):
        conn.upload_fileobj("bucket", "big", io.BytesIO(_data(BIG)))
    assert number in failing.sent
    assert_clean("big")


def test_failed_overwrite_keeps_the_old_object(
    make_conn: Callable[..., s3po.Connection], store: LocalBackend
) -> None:
    store.put("bucket", "big", b"old version", headers=s3po.Headers())
    conn = make_conn(FailPart(store, 2, lambda: s3po.BackendError("refused")))
    with pytest.raises(s3po.BackendError):
        conn.upload_string("bucket", "big", _data(BIG))
    assert conn.download_bytes("bucket", "big") == b"old version"


@pytest.mark.parametrize("codec", [None, "zstd"])
@pytest.mark.parametrize("after", [1000, THRESHOLD + 10, 3 * PART + 5])
def test_source_stream_raising_midway(
    pconn: s3po.Connection,
    assert_clean: Callable[..., None],
    codec: str | None,
    after: int,
) -> None:
    stream = BreakingStream(_data(BIG), after, SourceBroke("the pipe burst"))
    with pytest.raises(SourceBroke, match="the pipe burst"):
        pconn.upload_fileobj("bucket", "big", stream, compress=codec)  # type: ignore[call-overload]
    assert_clean("big")


@pytest.mark.parametrize("codec", [None, "gzip"])
@pytest.mark.parametrize("after", [1000, 3 * PART + 5])
def test_keyboard_interrupt_from_the_stream(
    pconn: s3po.Connection,
    assert_clean: Callable[..., None],
    codec: str | None,
    after: int,
) -> None:
    stream = BreakingStream(_data(BIG), after, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        pconn.upload_fileobj("bucket", "big", stream, compress=codec)  # type: ignore[call-overload]
    assert_clean("big")


@pytest.mark.parametrize("op", ["put_part", "start_multipart", "complete_multipart"])
def test_retries_exhausted_during_multipart(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    small_config: s3po.TransferConfig,
    assert_clean: Callable[..., None],
    sleeps: list[float],
    op: str,
) -> None:
    flaky = FlakyBackend(store, {op: 1000})
    conn = make_conn(flaky, small_config.evolve(retries=2))
    with pytest.raises(s3po.RetriesExhausted) as info:
        conn.upload_string("bucket", "big", _data(BIG))
    assert info.value.attempts == 3
    assert isinstance(info.value.__cause__, s3po.TransientError)
    assert sleeps
    assert_clean("big")


def test_retries_exhausted_single_put(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    assert_clean: Callable[..., None],
) -> None:
    flaky = FlakyBackend(store, {"put": 1000})
    conn = make_conn(flaky)
    with pytest.raises(s3po.RetriesExhausted):
        conn.upload_string("bucket", "small", b"abc", retries=1)
    assert flaky.calls["put"] == 2
    assert_clean("small")


def test_transient_part_failures_are_retried_per_part(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    assert_clean: Callable[..., None],
    sleeps: list[float],
) -> None:
    flaky = FlakyBackend(store, {"put_part": 2, "complete_multipart": 1, "put": 1})
    conn = make_conn(flaky)
    data = _data(BIG)
    conn.upload_fileobj("bucket", "big", io.BytesIO(data))
    conn.upload_string("bucket", "small", b"tiny")
    assert conn.download_bytes("bucket", "big") == data
    assert conn.download_bytes("bucket", "small") == b"tiny"
    assert flaky.calls["put_part"] == 6 + 2
    assert len(sleeps) == 4
    assert_clean()


def test_unseekable_stream_small_upload_is_buffered_for_retries(
    make_conn: Callable[..., s3po.Connection], store: LocalBackend
) -> None:
    flaky = FlakyBackend(store, {"put": 1})
    conn = make_conn(flaky)
    stream = BreakingStream(b"small stream", 10**9, SourceBroke())
    conn.upload_fileobj("bucket", "s", stream)  # type: ignore[call-overload]
    assert conn.download_bytes("bucket", "s") == b"small stream"


# -- upload_file(delete=True) -------------------------------------------------------------


@pytest.mark.parametrize("size", [10, BIG])
def test_upload_file_delete_removes_the_file_on_success(
    pconn: s3po.Connection, tmp_path: Path, size: int
) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(_data(size))
    pconn.upload_file("bucket", "k", src, delete=True, compress="gzip")
    assert not src.exists()
    assert pconn.download_bytes("bucket", "k") == _data(size)


def _failing_backends(store: LocalBackend) -> dict[str, tuple[s3po.Backend, type]]:
    return {
        "put refused": (
            FlakyBackend(store, {"put": 1}, error=lambda _: s3po.AccessDenied("no")),
            s3po.AccessDenied,
        ),
        "put retries exhausted": (FlakyBackend(store, {"put": 1000}), s3po.RetriesExhausted),
        "part refused": (
            FlakyBackend(store, {"put_part": 1}, error=lambda _: s3po.BackendError("no")),
            s3po.BackendError,
        ),
        "part retries exhausted": (
            FlakyBackend(store, {"put_part": 1000}),
            s3po.RetriesExhausted,
        ),
        "verification mismatch": (LyingHead(store), s3po.CorruptData),
        "verification head fails": (
            FlakyBackend(store, {"head": 1}, error=lambda _: s3po.NoSuchKey("vanished")),
            s3po.NoSuchKey,
        ),
        "verification head retries exhausted": (
            FlakyBackend(store, {"head": 1000}),
            s3po.RetriesExhausted,
        ),
    }


@pytest.mark.parametrize(
    ("case", "size"),
    [
        ("put refused", 10),
        ("put retries exhausted", 10),
        ("part refused", BIG),
        ("part retries exhausted", BIG),
        ("verification mismatch", 10),
        ("verification mismatch", BIG),
        ("verification head fails", 10),
        ("verification head fails", BIG),
        ("verification head retries exhausted", BIG),
    ],
)
def test_upload_file_delete_keeps_the_file_on_failure(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    tmp_path: Path,
    case: str,
    size: int,
) -> None:
    backend, error = _failing_backends(store)[case]
    conn = make_conn(backend)
    src = tmp_path / "precious.bin"
    data = _data(size)
    src.write_bytes(data)
    with pytest.raises(error):
        conn.upload_file("bucket", "k", src, delete=True, retries=1)
    assert src.read_bytes() == data


def test_upload_file_delete_keeps_the_file_on_bad_arguments(
    pconn: s3po.Connection, tmp_path: Path
) -> None:
    src = tmp_path / "precious.bin"
    src.write_bytes(b"data")
    with pytest.raises(s3po.InvalidKey):
        pconn.upload_file("bucket", "", src, delete=True)
    with pytest.raises(s3po.InvalidBucketName):
        pconn.upload_file("Bad_Bucket", "k", src, delete=True)
    with pytest.raises(s3po.InvalidRequest):
        pconn.upload_file("bucket", "k", src, delete=True, headers={"X-Nope": "1"})
    with pytest.raises(s3po.UnknownCodec):
        pconn.upload_file("bucket", "k", src, delete=True, compress="nope")
    assert src.read_bytes() == b"data"


def test_upload_file_delete_keeps_the_file_on_ctrl_c(
    make_conn: Callable[..., s3po.Connection], store: LocalBackend, tmp_path: Path
) -> None:
    conn = make_conn(FlakyBackend(store, {"put_part": 1}, error=lambda _: KeyboardInterrupt()))
    src = tmp_path / "precious.bin"
    src.write_bytes(_data(BIG))
    with pytest.raises(KeyboardInterrupt):
        conn.upload_file("bucket", "k", src, delete=True)
    assert src.read_bytes() == _data(BIG)


# -- downloads that fail ------------------------------------------------------------------


def _flip_stored_byte(store: LocalBackend, key: str) -> None:
    path = store.root / "bucket" / key
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x5A
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
@pytest.mark.parametrize("size", [5000, BIG])
def test_corrupt_stored_body_raises_corrupt_data(
    pconn: s3po.Connection,
    store: LocalBackend,
    tmp_path: Path,
    assert_clean: Callable[..., None],
    codec: str,
    size: int,
) -> None:
    data = _data(size)
    pconn.upload_string("bucket", "c", data, compress=codec)
    _flip_stored_byte(store, "c")
    with pytest.raises(s3po.CorruptData) as info:
        pconn.download_bytes("bucket", "c")
    assert (info.value.bucket, info.value.key) == ("bucket", "c")
    target = tmp_path / "dl" / "c.bin"
    with pytest.raises(s3po.CorruptData):
        pconn.download_file("bucket", "c", target)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
    assert_clean()


@pytest.mark.parametrize("size", [5000, BIG])
def test_truncated_stored_body_raises_corrupt_data(
    pconn: s3po.Connection, store: LocalBackend, size: int
) -> None:
    pconn.upload_string("bucket", "t", _data(size), compress="gzip")
    stored = (store.root / "bucket" / "t").read_bytes()
    # Re-store the first half under the same headers, as a truncated upload would.
    info = store.head("bucket", "t")
    store.put("bucket", "t", stored[: len(stored) // 2], headers=info.headers)
    with pytest.raises(s3po.CorruptData):
        pconn.download_bytes("bucket", "t")


def test_decompression_limit_in_the_pipeline(
    make_conn: Callable[..., s3po.Connection], small_config: s3po.TransferConfig, tmp_path: Path
) -> None:
    conn = make_conn(config=small_config.evolve(max_decompressed_size=100_000))
    conn.upload_string("bucket", "ok", bytes(100_000), compress="gzip")
    conn.upload_string("bucket", "bomb", bytes(2_000_000), compress="gzip")
    assert conn.download_bytes("bucket", "ok") == bytes(100_000)
    with pytest.raises(s3po.CorruptData, match="max_decompressed_size"):
        conn.download_bytes("bucket", "bomb")
    with pytest.raises(s3po.CorruptData):
        conn.download_file("bucket", "bomb", tmp_path / "bomb.bin")
    assert not (tmp_path / "bomb.bin").exists()
    # The stored bytes are still reachable without decoding.
    stored = conn.download_bytes("bucket", "bomb", decompress=False)
    assert isinstance(stored, bytes)
    assert len(stored) < 100_000


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("missing", s3po.NoSuchKey),
        ("open fails", s3po.RetriesExhausted),
        ("range fails", s3po.RetriesExhausted),
        ("corrupt", s3po.CorruptData),
    ],
)
def test_download_file_failure_leaves_no_partial_file(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    tmp_path: Path,
    assert_clean: Callable[..., None],
    case: str,
    error: type,
) -> None:
    data = _data(BIG)
    backends: dict[str, s3po.Backend] = {
        "missing": store,
        "open fails": FlakyBackend(store, {"get": 1000}),
        "range fails": FailRanges(store),
        "corrupt": store,
    }
    conn = make_conn(backends[case])
    if case != "missing":
        conn.upload_string("bucket", "k", data, compress="gzip" if case == "corrupt" else None)
    if case == "corrupt":
        _flip_stored_byte(store, "k")
    folder = tmp_path / "downloads"
    folder.mkdir()
    fresh = folder / "fresh.bin"
    existing = folder / "existing.bin"
    existing.write_bytes(b"previous content")
    for target in (fresh, existing):
        with pytest.raises(error):
            conn.download_file("bucket", "k", target, retries=1)
    assert not fresh.exists()
    assert existing.read_bytes() == b"previous content"
    assert sorted(p.name for p in folder.iterdir()) == ["existing.bin"]
    assert_clean()


def test_download_file_success_replaces_the_target(pconn: s3po.Connection, tmp_path: Path) -> None:
    target = tmp_path / "t.bin"
    target.write_bytes(b"old")
    pconn.upload_string("bucket", "k", _data(BIG), compress="br")
    pconn.download_file("bucket", "k", target)
    assert target.read_bytes() == _data(BIG)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".s3po-part")] == []
