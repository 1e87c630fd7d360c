"""AsyncBatch calls are real methods returning tasks; cancelled ones leave nothing behind."""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path

import pytest

import s3po


def test_a_cancelled_async_batch_leaves_no_unawaited_coroutine(tmp_path: Path) -> None:
    async def main() -> list[asyncio.Task[s3po.UploadResult]]:
        async with s3po.AsyncConnection(backend="local", root=tmp_path / "store") as conn:
            tasks: list[asyncio.Task[s3po.UploadResult]] = []
            with pytest.raises(RuntimeError, match="stop"):  # noqa: PT012
                async with conn.batch(1) as batch:
                    tasks.extend(batch.uploadString("bucket", f"k{i}", "v") for i in range(20))
                    raise RuntimeError("stop")
            return tasks

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tasks = asyncio.run(main())
        del tasks
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []


def test_every_call_of_an_async_batch_gives_its_result(tmp_path: Path) -> None:
    source = tmp_path / "src.txt"
    source.write_text("file")

    async def main() -> None:
        async with s3po.AsyncConnection(backend="local", root=tmp_path / "store") as conn:
            await conn.create_bucket("bucket")
            async with conn.batch(4) as batch:
                up = batch.upload_file("bucket", "f", source)
                text = batch.upload_string("bucket", "t", "text")
            async with conn.batch(4) as batch:
                head = batch.head("bucket", "f")
                exists = batch.exists("bucket", "nope")
                names = batch.listNames("bucket")
                got = batch.download_file("bucket", "t", tmp_path / "t.txt")
            assert up.result().key == "f"
            assert text.result().key == "t"
            assert head.result().size == 4
            assert exists.result() is False
            assert names.result() == ["f", "t"]
            assert got.result().size == 4
            assert (tmp_path / "t.txt").read_text() == "text"
            async with conn.batch(2) as batch:
                gone = batch.delete("bucket", "t")
            assert gone.result() is None
            assert await conn.list_names("bucket") == ["f"]

    asyncio.run(main())
