"""asyncio front end: the Connection's calls as coroutines.

The transfers themselves run on a thread pool (boto3 and the filesystem are blocking), so
awaiting them never blocks the event loop::

    async with s3po.AsyncConnection(backend="local", root="/tmp/demo") as conn:
        await conn.upload_string("bucket", "key", "text", compress="gzip")
        async with conn.batch(30) as batch:
            tasks = {k: batch.download_string("bucket", k) for k in keys}
        texts = {k: t.result() for k, t in tasks.items()}

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Self

from s3po.connection import Connection
from s3po.errors import BatchError, ConfigError

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["AsyncBatch", "AsyncConnection"]

#: The calls offered as coroutines (and, in a batch, as tasks).
_CALLS = (
    "upload_string",
    "upload_file",
    "upload_fileobj",
    "download_string",
    "download_bytes",
    "download_file",
    "download_fileobj",
    "head",
    "exists",
    "delete",
    "list_names",
    "create_bucket",
    "copy",
    "cleanup",
)


class AsyncConnection:
    """A :class:`~s3po.Connection` whose calls are coroutines.

    Takes the same arguments as :class:`~s3po.Connection`, plus ``max_workers``: the threads
    that run transfers (default 16).

    .. versionadded:: 0.1.0
    """

    def __init__(self, *args: Any, max_workers: int = 16, **kwargs: Any) -> None:  # noqa: ANN401
        """Open the connection."""
        if max_workers < 1:
            raise ConfigError("max_workers must be 1 or more")
        self.sync = Connection(*args, **kwargs)
        self._pool = cf.ThreadPoolExecutor(max_workers, thread_name_prefix="s3po-aio")

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        """Offer each Connection call (both spellings) as a coroutine function."""
        target = _resolve(name)
        method = getattr(self.sync, target)

        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            return await self._run(method, *args, **kwargs)

        return call

    def batch(self, max_workers: int = 8, **kwargs: Any) -> AsyncBatch:  # noqa: ANN401
        """Start a batch of concurrent transfers for ``async with``.

        .. versionadded:: 0.1.0
        """
        return AsyncBatch(self, max_workers, **kwargs)

    async def close(self) -> None:
        """Wait for background work and release the backend."""
        await self._run(self.sync.close)
        self._pool.shutdown(wait=False)

    async def __aenter__(self) -> Self:
        """Return self."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close."""
        await self.close()


def _resolve(name: str) -> str:
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    if snake not in _CALLS:
        msg = f"AsyncConnection has no call {name!r}"
        raise AttributeError(msg)
    return snake


class AsyncBatch:
    """Concurrent transfers on the event loop: each call returns an :class:`asyncio.Task`.

    At most ``max_workers`` run at once. Leaving ``async with`` awaits them all and raises one
    :class:`~s3po.BatchError` for the failures.

    .. versionadded:: 0.1.0
    """

    def __init__(self, conn: AsyncConnection, max_workers: int = 8) -> None:
        """Make a batch of ``max_workers`` concurrent transfers."""
        if max_workers < 1:
            raise ConfigError("a batch needs at least one worker")
        self._conn = conn
        self._slots = asyncio.Semaphore(max_workers)
        self._tasks: list[tuple[str, asyncio.Task[Any]]] = []

    def __getattr__(self, name: str) -> Callable[..., asyncio.Task[Any]]:
        """Offer each Connection call (both spellings), returning a task."""
        target = _resolve(name)
        method = getattr(self._conn.sync, target)

        async def limited(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
            async with self._slots:
                return await self._conn._run(method, *args, **kwargs)  # noqa: SLF001

        def call(*args: Any, **kwargs: Any) -> asyncio.Task[Any]:  # noqa: ANN401
            task = asyncio.get_running_loop().create_task(limited(*args, **kwargs))
            where = "/".join(str(a) for a in args[:2])
            self._tasks.append((f"{target} s3://{where}", task))
            return task

        return call

    async def __aenter__(self) -> Self:
        """Return self."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Await every task; raise BatchError naming the failures."""
        tasks = [t for _, t in self._tasks]
        if exc is not None:
            for task in tasks:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if exc is not None:
            return
        failed = [(name, t.exception()) for name, t in self._tasks if not t.cancelled()]
        errors = [e for _, e in failed if isinstance(e, Exception)]
        if errors:
            names = ", ".join(n for n, e in failed if e is not None)
            raise BatchError(f"{len(errors)} of {len(tasks)} transfers failed: {names}", errors)
