"""A batch backs off as one when the store throttles: Retry-After, one pause, one budget."""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from s3po_local import LocalBackend

import s3po
from s3po.backend.s3errors import parse_retry_after
from s3po.backend.testing import FlakyBackend
from s3po.middleware.pacing import Pacer
from s3po.middleware.retry import Retry


class FakeTime:
    """A clock that moves only when something sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _throttled(retry_after: float | None = None) -> Any:
    def make(op: str) -> s3po.Throttled:
        error = s3po.Throttled(f"SlowDown on {op}", bucket="bucket", key="k")
        error.retry_after = retry_after
        return error

    return make


@pytest.fixture
def store(tmp_path: Path) -> LocalBackend:
    backend = LocalBackend(tmp_path / "store")
    backend.create_bucket("bucket")
    return backend


def _retry(inner: s3po.Backend, fake: FakeTime, pacer: Pacer | None, retries: int = 3) -> Retry:
    config = s3po.RetryConfig(retries=retries, base=0.01, cap=0.01)
    return Retry(inner, config, sleep=fake.sleep, clock=fake.clock, pacer=pacer)


def test_the_wait_is_at_least_the_stores_retry_after(store: LocalBackend) -> None:
    fake = FakeTime()
    flaky = FlakyBackend(store, {"head": 1}, error=_throttled(2.5))
    store.put("bucket", "k", b"x", headers=s3po.Headers())
    assert _retry(flaky, fake, None).head("bucket", "k").size == 1
    assert fake.sleeps == [2.5]


def test_one_throttled_transfer_pauses_the_others(store: LocalBackend) -> None:
    fake, pacer = FakeTime(), Pacer()
    store.put("bucket", "k", b"x", headers=s3po.Headers())
    first = _retry(FlakyBackend(store, {"head": 1}, error=_throttled(4.0)), fake, pacer)
    other = _retry(store, fake, pacer)
    first.head("bucket", "k")  # throttled once at t=100, retried at t=104
    fake.now = 101.0  # another transfer starts during the pause: it waits for the rest
    other.head("bucket", "k")
    assert fake.sleeps == [4.0, 3.0]
    assert fake.now == 104.0


def test_throttled_retries_share_one_budget(store: LocalBackend) -> None:
    fake, pacer = FakeTime(), Pacer(budget=15, cost=5)
    always = FlakyBackend(store, {"head": 10**6}, error=_throttled())
    with pytest.raises(s3po.RetriesExhausted, match="retry budget is spent") as caught:
        _retry(always, fake, pacer, retries=100).head("bucket", "k")
    assert caught.value.attempts == 4  # three retries of 5 tokens, then none left
    with pytest.raises(s3po.RetriesExhausted, match="retry budget is spent") as caught:
        _retry(always, fake, pacer, retries=100).head("bucket", "k")
    assert caught.value.attempts == 1  # the next transfer does not retry at all
    assert isinstance(caught.value.last_exception, s3po.Throttled)
    # other transient errors are retried per call, whatever the budget
    broken = FlakyBackend(store, {"head": 2})
    store.put("bucket", "k", b"x", headers=s3po.Headers())
    assert _retry(broken, fake, pacer).head("bucket", "k").size == 1
    # and each success gives a token back
    assert pacer.tokens == 1


def test_a_batch_waits_as_one(tmp_path: Path) -> None:
    """Real threads and time: after a throttle, the batch's other puts wait its Retry-After."""
    starts: list[float] = []
    throttled_at: list[float] = []
    lock = threading.Lock()

    class Recording(FlakyBackend):
        def put(self, bucket: str, key: str, body: Any, **kwargs: Any) -> s3po.ObjectInfo:
            with lock:
                starts.append(time.monotonic())
                if len(starts) == 5:
                    throttled_at.append(time.monotonic())
                    raise _throttled(0.4)("put")
            return super().put(bucket, key, body, **kwargs)

    backend = Recording(LocalBackend(tmp_path / "store"))
    with s3po.Connection(backend) as conn, conn.batch(4) as batch:
        for i in range(20):
            batch.upload_string("bucket", f"p/{i}", "x")
    (t0,) = throttled_at
    early = [t for t in starts if t0 < t < t0 + 0.39]
    # only the puts already past the gate when the pause began (at most the 3 others
    # running) start inside the pause; the rest wait for it
    assert len(early) <= 3
    assert len(starts) == 21
    assert len([t for t in starts if t >= t0 + 0.39]) >= 21 - 5 - 3


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("86400") == 60.0  # capped
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(later, now=now.timestamp()) == 7.0
