"""A real server's SlowDown with Retry-After reaches the retry layer as Throttled."""

from __future__ import annotations

from typing import Any

import pytest
from s3po_reliability import connect  # type: ignore[import-not-found]

import s3po
from s3po.middleware.retry import RetryEvent

pytestmark = pytest.mark.integration


def test_slowdown_with_retry_after_is_waited_for(moto_server: Any, moto_proxy: Any) -> None:
    moto_server.reset()
    moto_server.admin.create_bucket(Bucket="paced")
    moto_proxy.retry_after = "1"
    moto_proxy.inject("slowdown", operation="PutObject")
    events: list[RetryEvent] = []
    with connect(moto_server, moto_proxy, on_retry=events.append) as conn:
        conn.upload_string("paced", "k", "value")
        assert conn.download_string("paced", "k") == "value"
    (event,) = events
    assert isinstance(event.error, s3po.Throttled)
    assert event.error.retry_after == 1.0
    assert event.delay >= 1.0
    assert [r.fault for r in moto_proxy.requests("PutObject")] == ["slowdown", None]
