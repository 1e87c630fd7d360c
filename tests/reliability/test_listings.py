"""A listing that cannot be finished is an error, never an empty or a short result.

The attack: a store that is unreachable, answers 503 forever, or fails one page of a long
listing. Before, the retry layer re-read a generator that had already raised, found it
exhausted, and returned an empty listing, which ``sync --delete`` then acted on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from s3po_local import LocalBackend
from s3po_reliability import Retries, connect  # type: ignore[import-not-found]

import s3po
from s3po.middleware.retry import Retry

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there
OPTIONS: dict[str, Any] = {
    "endpoint_url": UNREACHABLE,
    "aws_access_key_id": "id",
    "aws_secret_access_key": "not-a-secret",
    "region_name": "us-east-1",
}


class FailingListing(s3po.ForwardingBackend):
    """Fails a listing with a transient error after ``after`` entries, ``times`` times."""

    def __init__(self, inner: s3po.Backend, *, after: int, times: int) -> None:
        super().__init__(inner)
        self.after = after
        self.times = times
        self.calls: list[str | None] = []

    def list(
        self,
        bucket: str,
        prefix: str = "",
        delimiter: str | None = None,
        *,
        start_after: str | None = None,
    ) -> Iterator[s3po.ObjectInfo | s3po.CommonPrefix]:
        self.calls.append(start_after)
        inner = self.inner.list(bucket, prefix, delimiter, start_after=start_after)
        for n, entry in enumerate(inner):
            if n == self.after and self.times > 0:
                self.times -= 1
                raise s3po.TransientError("the page was cut off", bucket=bucket)
            yield entry


@pytest.fixture
def filled(tmp_path: Path) -> LocalBackend:
    backend = LocalBackend(tmp_path / "store", fsync=False)
    backend.create_bucket("bucket")
    for i in range(1500):
        backend.put("bucket", f"k/{i:05d}", b"x", headers=s3po.Headers())
    for i in range(20):
        backend.put("bucket", f"d{i:02d}/x/y", b"x", headers=s3po.Headers())
    return backend


def _retry(inner: s3po.Backend, retries: int = 3) -> Retry:
    return Retry(inner, s3po.RetryConfig(retries=retries), sleep=lambda _s: None)


def test_a_fault_mid_listing_resumes_after_the_last_entry(filled: LocalBackend) -> None:
    flaky = FailingListing(filled, after=1000, times=1)
    names = [e.key for e in _retry(flaky).list("bucket", "k/") if isinstance(e, s3po.ObjectInfo)]
    assert names == [f"k/{i:05d}" for i in range(1500)]  # every key, exactly once
    assert flaky.calls == [None, "k/00999"]  # the second request resumed, not restarted


def test_resuming_after_a_common_prefix_does_not_repeat_it(filled: LocalBackend) -> None:
    flaky = FailingListing(filled, after=5, times=2)
    entries = list(_retry(flaky).list("bucket", "", "/"))
    prefixes = [e.prefix for e in entries if isinstance(e, s3po.CommonPrefix)]
    assert prefixes == [f"d{i:02d}/" for i in range(20)] + ["k/"]


def test_each_stretch_of_progress_gets_a_fresh_budget(filled: LocalBackend) -> None:
    # four faults, one retry each time: more than the budget of one request, but progress
    # is made between them, so the listing finishes
    class EveryPage(FailingListing):
        def list(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            self.times = 1
            return super().list(*args, **kwargs)

    flaky = EveryPage(filled, after=300, times=1)
    keys = list(_retry(flaky, retries=1).list("bucket", "k/"))
    assert len(keys) == 1500
    assert len(flaky.calls) == 5


def test_a_listing_that_never_finishes_raises(filled: LocalBackend) -> None:
    # the first page arrives, every request for the second one fails
    class StuckOnPageTwo(FailingListing):
        def list(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            self.after = 10 if not self.calls else 0
            return super().list(*args, **kwargs)

    flaky = StuckOnPageTwo(filled, after=10, times=100)
    with pytest.raises(s3po.RetriesExhausted) as info:
        list(_retry(flaky, retries=2).list("bucket", "k/"))
    assert isinstance(info.value.last_exception, s3po.TransientError)
    assert len(flaky.calls) == 3


def test_a_failure_before_the_first_entry_raises_at_the_call(filled: LocalBackend) -> None:
    flaky = FailingListing(filled, after=0, times=100)
    with pytest.raises(s3po.RetriesExhausted):
        _retry(flaky, retries=1).list("bucket")


@pytest.mark.parametrize("backend", ["s3", "obstore"])
def test_an_unreachable_store_is_an_error_not_an_empty_listing(backend: str) -> None:
    config = s3po.TransferConfig(retry=s3po.RetryConfig(retries=2, base=0.01))
    with s3po.Connection(backend, config=config, **OPTIONS) as conn:
        with pytest.raises(s3po.RetriesExhausted):
            conn.list_names("bucket", "tree/")
        with pytest.raises(s3po.RetriesExhausted):
            list(conn.list("bucket"))


def test_the_async_connection_raises_too() -> None:
    async def main() -> None:
        config = s3po.TransferConfig(retry=s3po.RetryConfig(retries=1, base=0.01))
        async with s3po.AsyncConnection("s3", config=config, **OPTIONS) as conn:
            with pytest.raises(s3po.RetriesExhausted):
                await conn.list_names("bucket")

    asyncio.run(main())


# -- against the real servers, through the fault proxy -----------------------------------------


def _fill(server: Any, bucket: str, n: int) -> None:
    client = server.admin
    with cf.ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda i: client.put_object(Bucket=bucket, Key=f"t/{i:05d}", Body=b"x"), range(n)
            )
        )


@pytest.mark.integration
def test_a_fault_on_page_two_is_retried_and_every_key_comes_back_once(
    s3_server: Any, bucket: str, proxy: Any
) -> None:
    _fill(s3_server, bucket, 1500)
    proxy.inject(
        "internal",
        operation="ListObjects",
        match=lambda r: "continuation-token" in r.params or "start-after" in r.params,
    )
    retries = Retries()
    with connect(s3_server, proxy, on_retry=retries) as conn:
        names = conn.list_names(bucket, "t/")
    assert names == [f"t/{i:05d}" for i in range(1500)]
    assert [r.fault for r in proxy.requests("ListObjects")].count("internal") == 1
    assert len(retries) == 1


@pytest.mark.integration
def test_a_store_that_answers_503_forever_is_retried_then_raises(
    s3_server: Any, bucket: str, proxy: Any
) -> None:
    proxy.inject("slowdown", operation="ListObjects", times=100)
    with connect(s3_server, proxy, retries=3) as conn, pytest.raises(s3po.RetriesExhausted):
        conn.list_names(bucket)
    assert len(proxy.requests("ListObjects")) == 4
