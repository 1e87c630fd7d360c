"""The retry middleware over a FlakyBackend over a LocalBackend, with a fake clock."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from s3po_local import LocalBackend

import s3po
from s3po import Headers, RetryConfig
from s3po.middleware import Retry
from s3po.middleware.retry import RetryEvent, recorded_retries
from s3po.testing import FlakyBackend

BUCKET = "bucket"


@pytest.fixture
def store(tmp_path: Path) -> LocalBackend:
    backend = LocalBackend(tmp_path / "store", create_buckets=False, fsync=False)
    backend.create_bucket(BUCKET)
    return backend


def _retry(inner: s3po.Backend, fake_time: Any, **config: Any) -> Retry:
    return Retry(
        inner,
        RetryConfig(**config),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        rng=random.Random(1234),
    )


@pytest.mark.parametrize("failures", [0, 1, 2, 3])
def test_transient_failures_are_retried_and_counted(
    store: LocalBackend, fake_time: Any, failures: int
) -> None:
    flaky = FlakyBackend(store, {"put": failures, "head": failures})
    retry = _retry(flaky, fake_time, retries=3, base=0.5, cap=4.0)
    info = retry.put(BUCKET, "k", b"payload", headers=Headers())
    assert retry.head(BUCKET, "k").etag == info.etag
    assert flaky.calls == {"put": failures + 1, "head": failures + 1}
    assert len(fake_time.sleeps) == 2 * failures


def test_delays_follow_the_seeded_full_jitter_schedule(store: LocalBackend, fake_time: Any) -> None:
    flaky = FlakyBackend(store, {"head": 5})
    store.put(BUCKET, "k", b"x", headers=Headers())
    retry = _retry(flaky, fake_time, retries=5, base=0.25, cap=2.0)
    retry.head(BUCKET, "k")
    reference = random.Random(1234)
    expected = [reference.uniform(0, min(2.0, 0.25 * 2**n)) for n in range(5)]
    assert fake_time.sleeps == expected
    assert all(0 <= d <= min(2.0, 0.25 * 2**n) for n, d in enumerate(fake_time.sleeps))


def test_on_retry_sees_every_retry(store: LocalBackend, fake_time: Any) -> None:
    events: list[RetryEvent] = []
    flaky = FlakyBackend(store, {"put": 2})
    retry = Retry(flaky, RetryConfig(retries=3), sleep=fake_time.sleep, clock=fake_time.clock)
    retry.on_retry = events.append
    retry.put(BUCKET, "k", b"x", headers=Headers())
    assert [(e.operation, e.attempt) for e in events] == [("put", 1), ("put", 2)]
    assert [e.delay for e in events] == fake_time.sleeps
    assert all(isinstance(e.error, s3po.TransientError) for e in events)
    assert all((e.bucket, e.key) == (BUCKET, "k") for e in events)


def test_recorded_retries_sees_the_retries_made_inside_and_nests(
    store: LocalBackend, fake_time: Any
) -> None:
    store.put(BUCKET, "k", b"x", headers=Headers())
    retry = _retry(FlakyBackend(store, {"head": 3}), fake_time, retries=5, base=0.1)
    retry.head(BUCKET, "k")  # recorded by nobody
    retry = _retry(FlakyBackend(store, {"head": 1, "put": 2}), fake_time, retries=5)
    with recorded_retries() as outer:
        retry.head(BUCKET, "k")
        with recorded_retries() as inner:
            retry.put(BUCKET, "k", b"y", headers=Headers())
    assert [(e.operation, e.attempt) for e in inner] == [("put", 1), ("put", 2)]
    assert [(e.operation, e.attempt) for e in outer] == [("head", 1), ("put", 1), ("put", 2)]


@pytest.mark.parametrize("retries", [0, 1, 4])
def test_retries_exhausted_after_retries_plus_one_attempts(
    store: LocalBackend, fake_time: Any, retries: int
) -> None:
    flaky = FlakyBackend(store, {"put": 100})
    retry = _retry(flaky, fake_time, retries=retries)
    with pytest.raises(s3po.RetriesExhausted) as info:
        retry.put(BUCKET, "k", b"x", headers=Headers())
    err = info.value
    assert flaky.calls["put"] == retries + 1
    assert err.attempts == retries + 1
    assert len(fake_time.sleeps) == retries
    assert isinstance(err.last_exception, s3po.TransientError)
    assert err.__cause__ is err.last_exception
    assert (err.bucket, err.key) == (BUCKET, "k")
    assert not isinstance(err, s3po.TransientError)  # an outer retry must not retry it again
    with pytest.raises(s3po.NoSuchKey):
        store.head(BUCKET, "k")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (lambda op: s3po.NoSuchKey(f"{op}: gone"), s3po.NoSuchKey),
        (lambda op: s3po.AccessDenied(f"{op}: no"), s3po.AccessDenied),
        (lambda op: s3po.BackendError(f"{op}: broken"), s3po.BackendError),
        (lambda op: s3po.PreconditionFailed(f"{op}: changed"), s3po.PreconditionFailed),
    ],
)
def test_non_transient_errors_are_not_retried(
    store: LocalBackend, fake_time: Any, error: Callable[[str], Exception], kind: type
) -> None:
    flaky = FlakyBackend(store, {"head": 5}, error=error)
    retry = _retry(flaky, fake_time, retries=5)
    with pytest.raises(kind):
        retry.head(BUCKET, "k")
    assert flaky.calls["head"] == 1
    assert fake_time.sleeps == []


def test_real_missing_key_is_not_retried(store: LocalBackend, fake_time: Any) -> None:
    flaky = FlakyBackend(store)
    retry = _retry(flaky, fake_time, retries=5)
    with pytest.raises(s3po.NoSuchKey):
        retry.get(BUCKET, "missing")
    assert flaky.calls["get"] == 1


def test_deadline_is_honoured(store: LocalBackend, fake_time: Any) -> None:
    flaky = FlakyBackend(store, {"head": 1000})
    retry = _retry(flaky, fake_time, retries=1000, base=4.0, cap=4.0, deadline=30.0)
    started = fake_time.now
    with pytest.raises(s3po.RetriesExhausted, match="deadline") as info:
        retry.head(BUCKET, "k")
    assert fake_time.now - started <= 30.0
    assert info.value.attempts == flaky.calls["head"]
    assert 2 < info.value.attempts < 1000
    # It gave up rather than sleep past the deadline.
    assert fake_time.now - started + 4.0 > 30.0 - 4.0


def test_deadline_counts_time_spent_in_calls(store: LocalBackend, fake_time: Any) -> None:
    def slow_failure(op: str) -> Exception:
        fake_time.now += 7.0  # every attempt takes 7 s before failing
        return s3po.TransientError(f"{op} timed out")

    flaky = FlakyBackend(store, {"head": 1000}, error=slow_failure)
    retry = _retry(flaky, fake_time, retries=1000, base=0.0, cap=0.0, deadline=20.0)
    with pytest.raises(s3po.RetriesExhausted):
        retry.head(BUCKET, "k")
    assert flaky.calls["head"] == 3  # at 7, 14 and 21 s; the third passes the deadline


def test_each_call_gets_its_own_budget(store: LocalBackend, fake_time: Any) -> None:
    flaky = FlakyBackend(store, {"put": 2})
    retry = _retry(flaky, fake_time, retries=2)
    retry.put(BUCKET, "a", b"1", headers=Headers())
    flaky.failures["put"] = 2
    retry.put(BUCKET, "b", b"2", headers=Headers())
    assert flaky.calls["put"] == 6


class OneWay(io.RawIOBase):
    """A stream that cannot seek, like a pipe or a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_unseekable_stream_that_needs_a_retry(store: LocalBackend, fake_time: Any) -> None:
    flaky = FlakyBackend(store, {"put": 1})
    retry = _retry(flaky, fake_time, retries=3)
    with pytest.raises(s3po.UnrewindableBody, match="cannot seek back") as info:
        retry.put(BUCKET, "k", OneWay(b"stream data"), headers=Headers())
    assert isinstance(info.value, s3po.TransferError)
    assert flaky.calls["put"] == 1
    with pytest.raises(s3po.NoSuchKey):
        store.head(BUCKET, "k")


def test_unseekable_stream_without_failures_uploads(store: LocalBackend, fake_time: Any) -> None:
    retry = _retry(FlakyBackend(store), fake_time, retries=3)
    retry.put(BUCKET, "k", OneWay(b"stream data"), headers=Headers())
    with store.get(BUCKET, "k") as result:
        assert result.body.readall() == b"stream data"


def test_seekable_stream_is_rewound_for_a_retry(store: LocalBackend, fake_time: Any) -> None:
    flaky = FlakyBackend(store, {"put": 2})  # each failing put reads a byte first
    retry = _retry(flaky, fake_time, retries=3)
    stream = io.BytesIO(b"HEADERstream data")
    stream.seek(6)  # the upload starts where the stream stands
    info = retry.put(BUCKET, "k", stream, headers=Headers())
    with store.get(BUCKET, "k") as result:
        assert result.body.readall() == b"stream data"
    assert info.etag == hashlib.md5(b"stream data").hexdigest()  # noqa: S324


# -- resuming a body cut off mid-stream ---------------------------------------------------


class _CutBody(s3po.Body):
    """Serves ``limit`` bytes of ``inner``, then fails like a dropped connection."""

    def __init__(self, inner: s3po.Body, limit: int, on_cut: Callable[[], object]) -> None:
        super().__init__()
        self._inner = inner
        self._left = limit
        self._on_cut = on_cut

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            self._on_cut()
            raise s3po.TransientError("connection reset by peer")
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = self._inner.read(want)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._inner.close()
        super().close()


class CuttingBackend(s3po.ForwardingBackend):
    """Cuts the bodies of the first ``cuts`` GETs after ``after`` bytes; records every GET."""

    def __init__(self, inner: s3po.Backend, *, after: int, cuts: int = 1) -> None:
        super().__init__(inner)
        self.after = after
        self.cuts = cuts
        self.gets: list[tuple[int, int | None, str | None]] = []
        self.on_cut: Callable[[], object] = lambda: None

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> s3po.GetResult:
        self.gets.append((start, end, if_match))
        result = self.inner.get(bucket, key, start=start, end=end, if_match=if_match)
        if self.cuts > 0:
            self.cuts -= 1
            result.body = _CutBody(result.body, self.after, self.on_cut)
        return result


def _payload(n: int) -> bytes:
    return random.Random(n).randbytes(n)


@pytest.mark.parametrize("read_size", [1000, 4096, -1])
def test_cut_body_is_resumed_from_its_offset(
    store: LocalBackend, fake_time: Any, read_size: int
) -> None:
    data = _payload(10_000)
    etag = store.put(BUCKET, "k", data, headers=Headers()).etag
    cutter = CuttingBackend(store, after=3000)
    retry = _retry(cutter, fake_time, retries=3)
    with retry.get(BUCKET, "k") as result:
        out = b""
        while chunk := result.body.read(read_size):
            out += chunk
    assert out == data
    assert cutter.gets == [(0, None, None), (3000, 10_000, etag)]
    assert len(fake_time.sleeps) == 1


def test_several_cuts_resume_each_time(store: LocalBackend, fake_time: Any) -> None:
    data = _payload(10_000)
    etag = store.put(BUCKET, "k", data, headers=Headers()).etag
    cutter = CuttingBackend(store, after=2500, cuts=3)
    retry = _retry(cutter, fake_time, retries=3)
    with retry.get(BUCKET, "k") as result:
        assert result.body.readall() == data
    assert cutter.gets == [
        (0, None, None),
        (2500, 10_000, etag),
        (5000, 10_000, etag),
        (7500, 10_000, etag),
    ]


def test_ranged_get_is_resumed_within_its_range(store: LocalBackend, fake_time: Any) -> None:
    data = _payload(10_000)
    etag = store.put(BUCKET, "k", data, headers=Headers()).etag
    cutter = CuttingBackend(store, after=1000)
    retry = _retry(cutter, fake_time, retries=3)
    with retry.get(BUCKET, "k", start=2000, end=6000) as result:
        assert result.body.readall() == data[2000:6000]
    assert cutter.gets == [(2000, 6000, None), (3000, 6000, etag)]


def test_cuts_beyond_the_budget_exhaust_retries(store: LocalBackend, fake_time: Any) -> None:
    data = _payload(10_000)
    store.put(BUCKET, "k", data, headers=Headers())
    cutter = CuttingBackend(store, after=100, cuts=100)
    retry = _retry(cutter, fake_time, retries=2)
    with (
        retry.get(BUCKET, "k") as result,
        pytest.raises(s3po.RetriesExhausted) as info,
    ):
        result.body.readall()
    assert info.value.attempts == 3
    assert isinstance(info.value.__cause__, s3po.TransientError)


def test_object_changed_before_resume_raises_precondition_failed(
    store: LocalBackend, fake_time: Any
) -> None:
    data = _payload(10_000)
    store.put(BUCKET, "k", data, headers=Headers())
    cutter = CuttingBackend(store, after=4000)
    cutter.on_cut = lambda: store.put(BUCKET, "k", _payload(12_000), headers=Headers())
    retry = _retry(cutter, fake_time, retries=3)
    with retry.get(BUCKET, "k") as result, pytest.raises(s3po.PreconditionFailed):
        result.body.readall()
    assert len(cutter.gets) == 2


def test_failed_reopen_counts_as_an_attempt(store: LocalBackend, fake_time: Any) -> None:
    data = _payload(10_000)
    store.put(BUCKET, "k", data, headers=Headers())
    cutter = CuttingBackend(store, after=5000)
    flaky = FlakyBackend(cutter)
    retry = _retry(flaky, fake_time, retries=3)
    with retry.get(BUCKET, "k") as result:
        first = result.body.read(6000)
        flaky.failures["get"] = 1  # the first reopen fails too
        rest = result.body.readall()
    assert first + rest == data
    assert flaky.calls["get"] == 3


def test_a_cut_body_copied_into_a_file_resumes_at_the_offset_reached(
    store: LocalBackend, fake_time: Any, tmp_path: Path
) -> None:
    """copy_into, the path ranges take to their file offsets, resumes like read does."""
    data = _payload(10_000)
    etag = store.put(BUCKET, "k", data, headers=Headers()).etag
    cutter = CuttingBackend(store, after=2500, cuts=2)
    retry = _retry(cutter, fake_time, retries=3)
    target = tmp_path / "out.bin"
    with target.open("wb") as out, retry.get(BUCKET, "k") as result:
        pos = 0
        while n := result.body.copy_into(out.fileno(), pos, 4096):
            pos += n
    assert target.read_bytes() == data
    assert cutter.gets == [(0, None, None), (2500, 10_000, etag), (5000, 10_000, etag)]
