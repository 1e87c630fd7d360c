"""A BatchError's message says why each transfer failed, not only which did."""

from __future__ import annotations

import asyncio

import pytest

import s3po


def test_the_message_names_each_failure_with_its_kind_and_reason() -> None:
    with s3po.Connection.memory() as conn:
        conn.create_bucket("bucket")
        with pytest.raises(s3po.BatchError) as caught, conn.batch(2) as batch:  # noqa: PT012
            batch.download_bytes("bucket", "missing")
            batch.upload_string("bucket", "fine", "ok")
            batch.download_bytes("no-such-bucket", "k")
    message = caught.value.message
    assert message.startswith("2 of 3 transfers failed: ")
    assert "s3://bucket/missing: NoSuchKey: " in message
    assert "s3://no-such-bucket/k: NoSuchBucket: " in message
    assert len(caught.value.exceptions) == 2


def test_a_long_list_is_cut_after_ten_but_the_group_holds_all() -> None:
    with s3po.Connection.memory() as conn:
        conn.create_bucket("bucket")
        with pytest.raises(s3po.BatchError) as caught, conn.batch(4) as batch:  # noqa: PT012
            for i in range(12):
                batch.download_bytes("bucket", f"missing/{i:02}")
    message = caught.value.message
    assert message.count("NoSuchKey: ") == 10
    assert message.endswith("; and 2 more")
    assert len(caught.value.exceptions) == 12


def test_the_async_batch_says_why_too() -> None:
    async def main() -> str:
        async with s3po.AsyncConnection(backend="memory") as conn:
            await conn.create_bucket("bucket")
            with pytest.raises(s3po.BatchError) as caught:
                async with conn.batch(2) as batch:
                    batch.download_bytes("bucket", "missing")
            return caught.value.message

    message = asyncio.run(main())
    assert "s3://bucket/missing: NoSuchKey: " in message
