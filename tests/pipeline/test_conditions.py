"""Conditional uploads through the stack: validation, refusals before I/O, retries."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from s3po_memory import MemoryBackend

import s3po
from s3po.backend import Capabilities, WriteCondition
from s3po.backend.testing import FlakyBackend


class OldMiddleware(s3po.ForwardingBackend):
    """A user middleware written before conditions: its put() takes no condition."""

    def put(  # type: ignore[override]  # the old SPI's signature, on purpose
        self,
        bucket: str,
        key: str,
        body: Any,
        *,
        headers: Any,
        size: Any = None,
    ) -> Any:
        return self.inner.put(bucket, key, body, headers=headers, size=size)


def test_bad_conditions_are_refused_before_io() -> None:
    """if_none_match takes only '*'; both at once, or an empty ETag, are refused."""
    with s3po.Connection.memory() as conn:
        conn.create_bucket("bkt")
        with pytest.raises(s3po.InvalidRequest):
            conn.upload_string("bkt", "k", "x", if_none_match="abc")
        with pytest.raises(s3po.InvalidRequest):
            conn.upload_string("bkt", "k", "x", if_none_match="*", if_match="e")
        with pytest.raises(s3po.InvalidRequest):
            conn.upload_string("bkt", "k", "x", if_match="")
        assert conn.list_names("bkt") == []
    with pytest.raises(s3po.InvalidRequest):
        WriteCondition()


def test_undeclared_condition_is_not_supported() -> None:
    """A backend that declares no conditions gets none: NotSupported, nothing written."""
    backend = MemoryBackend()
    backend.capabilities = dataclasses.replace(backend.capabilities, conditions=frozenset())
    with s3po.Connection(backend) as conn:
        with pytest.raises(s3po.NotSupported):
            conn.upload_string("bkt", "k", "x", if_none_match="*")
        conn.upload_string("bkt", "k", "unconditional")  # every other write still works
        assert conn.list_names("bkt") == ["k"]


def test_middleware_that_drops_the_condition_is_refused() -> None:
    """A user middleware whose put() has no condition= would drop it: NotSupported."""
    # Written against the SPI before conditions on purpose, so its type does not match.
    config = s3po.TransferConfig(middleware=(OldMiddleware,))  # type: ignore[arg-type]
    with s3po.Connection.memory(config=config) as conn:
        conn.upload_string("bkt", "k", "old")
        with pytest.raises(s3po.NotSupported, match="OldMiddleware"):
            conn.upload_string("bkt", "k", "new", if_none_match="*")
        assert conn.download_string("bkt", "k") == "old"


def test_refusal_after_a_lost_reply_says_so() -> None:
    """A conditional PUT whose first attempt failed transiently, then 412: the message says why."""
    inner = MemoryBackend()
    inner.put("bkt", "k", b"there", headers=s3po.Headers())
    flaky = FlakyBackend(inner, failures={"put": 1})
    config = s3po.TransferConfig(retry=s3po.RetryConfig(base=0))
    with (
        s3po.Connection(flaky, config=config) as conn,
        pytest.raises(s3po.PreconditionFailed, match="earlier attempt"),
    ):
        conn.upload_string("bkt", "k", "mine", if_none_match="*")


def test_an_unknown_condition_name_is_refused_where_it_is_declared() -> None:
    """Capabilities checks its own names, so every backend's ``conditions=`` is checked alike."""
    with pytest.raises(s3po.ConfigError, match="unknown conditional writes"):
        Capabilities(conditions=frozenset({"put-if-bogus"}))
    s3_backend = pytest.importorskip("s3po_s3.backend")
    with pytest.raises(s3po.ConfigError, match=r"\['put-if-bogus'\]"):
        s3_backend.S3Backend(endpoint_url="http://127.0.0.1:9", conditions=["put-if-bogus"])
    obstore_backend = pytest.importorskip("s3po_obstore.backend")
    with pytest.raises(s3po.ConfigError, match="choose from"):
        obstore_backend.ObstoreBackend(
            endpoint_url="http://127.0.0.1:9", conditions=["put-if-bogus"]
        )
