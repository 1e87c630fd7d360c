"""The asyncio front end: coroutines that never block the event loop."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

import s3po


def test_async_round_trip_and_both_spellings(tmp_path: Path) -> None:
    async def main() -> None:
        async with s3po.AsyncConnection(backend="local", root=tmp_path / "store") as conn:
            result = await conn.upload_string("bucket", "k", "text", compress="gzip")
            assert result.content_encoding == "gzip"
            assert await conn.downloadString("bucket", "k") == "text"
            assert await conn.exists("bucket", "k")
            assert await conn.listNames("bucket") == ["k"]
            with pytest.raises(s3po.NoSuchKey):
                await conn.download_bytes("bucket", "missing")

    asyncio.run(main())


def test_async_batch_collects_results_and_errors(tmp_path: Path) -> None:
    async def main() -> None:
        async with s3po.AsyncConnection(backend="local", root=tmp_path / "store") as conn:
            async with conn.batch(8) as batch:
                ups = [batch.upload_string("bucket", f"a/{i}", f"v{i}") for i in range(50)]
            assert all(t.done() and t.exception() is None for t in ups)
            async with conn.batch(8) as batch:
                tasks = {i: batch.download_string("bucket", f"a/{i}") for i in range(50)}
            assert {i: t.result() for i, t in tasks.items()} == {i: f"v{i}" for i in range(50)}
            with pytest.raises(s3po.BatchError, match="missing"):  # noqa: PT012
                async with conn.batch(4) as batch:
                    batch.download_string("bucket", "a/1")
                    batch.download_string("bucket", "missing")

    asyncio.run(main())


def test_event_loop_keeps_running_during_a_transfer(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(24 * 1024 * 1024))

    async def main() -> int:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        async with s3po.AsyncConnection(backend="local", root=tmp_path / "store") as conn:
            tick_task = asyncio.create_task(ticker())
            await conn.upload_file("bucket", "big", source, compress="gzip")
            await conn.download_file("bucket", "big", tmp_path / "back.bin")
            done.set()
            await tick_task
        return ticks

    ticks = asyncio.run(main())
    assert ticks > 5
    assert (tmp_path / "back.bin").read_bytes() == source.read_bytes()


def test_unknown_call_is_an_attribute_error(tmp_path: Path) -> None:
    conn = s3po.AsyncConnection(backend="local", root=tmp_path / "store")
    with pytest.raises(AttributeError, match="no call"):
        _ = conn.frobnicate  # type: ignore[attr-defined]  # no such call, on purpose
    asyncio.run(conn.close())
