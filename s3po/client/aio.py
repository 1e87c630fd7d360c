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
import os
from collections.abc import Callable, Coroutine, Mapping
from typing import IO, TYPE_CHECKING, Any, Self, TypeVar

from s3po.client.background import failure_list
from s3po.client.connection import Connection
from s3po.errors import BatchError, ConfigError

if TYPE_CHECKING:
    import datetime as dt
    from types import TracebackType
    from typing import Unpack

    from s3po._types import Headers, MultipartUpload, ObjectInfo
    from s3po.client.options import (
        DownloadFileOptions,
        DownloadOptions,
        DownloadStringOptions,
        DownloadToOptions,
        UploadFileOptions,
        UploadOptions,
    )
    from s3po.transfer import DownloadResult, UploadResult

__all__ = ["AsyncBatch", "AsyncConnection"]

T = TypeVar("T")


class AsyncConnection:
    """A :class:`~s3po.Connection` whose calls are coroutines.

    Takes the same arguments as :class:`~s3po.Connection`, plus ``max_workers``: the threads
    that run transfers (default 16). Each call takes the keyword options of the
    Connection's call of the same name and returns its result; a misspelled call or option
    fails a type checker, and at run time raises as the Connection's does.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       The calls are real coroutine methods with the Connection's typed options.
    """

    def __init__(self, *args: Any, max_workers: int = 16, **kwargs: Any) -> None:  # noqa: ANN401
        """Open the connection."""
        if max_workers < 1:
            raise ConfigError("max_workers must be 1 or more")
        self.sync = Connection(*args, **kwargs)
        if self.sync.defaults.background:
            self.sync.close()
            raise ConfigError("AsyncConnection calls are awaited; background= does not apply")
        self._pool = cf.ThreadPoolExecutor(max_workers, thread_name_prefix="s3po-aio")

    async def _run(self, fn: Callable[[], T]) -> T:
        """Run the blocking ``fn`` on the connection's threads."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    # -- transfers ------------------------------------------------------------------------

    async def upload_string(
        self, bucket: str, key: str, data: str | bytes, **options: Unpack[UploadOptions]
    ) -> UploadResult:
        """:meth:`Connection.upload_string <s3po.Connection.upload_string>`, awaited."""
        return await self._run(lambda: self.sync.upload_string(bucket, key, data, **options))

    async def upload_file(
        self,
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        **options: Unpack[UploadFileOptions],
    ) -> UploadResult:
        """:meth:`Connection.upload_file <s3po.Connection.upload_file>`, awaited."""
        return await self._run(lambda: self.sync.upload_file(bucket, key, path, **options))

    async def upload_fileobj(
        self, bucket: str, key: str, fileobj: IO[bytes], **options: Unpack[UploadOptions]
    ) -> UploadResult:
        """:meth:`Connection.upload_fileobj <s3po.Connection.upload_fileobj>`, awaited."""
        return await self._run(lambda: self.sync.upload_fileobj(bucket, key, fileobj, **options))

    async def download_bytes(
        self, bucket: str, key: str, **options: Unpack[DownloadOptions[bytes]]
    ) -> bytes:
        """:meth:`Connection.download_bytes <s3po.Connection.download_bytes>`, awaited."""
        return await self._run(lambda: self.sync.download_bytes(bucket, key, **options))

    async def download_string(
        self, bucket: str, key: str, **options: Unpack[DownloadStringOptions]
    ) -> str:
        """:meth:`Connection.download_string <s3po.Connection.download_string>`, awaited."""
        return await self._run(lambda: self.sync.download_string(bucket, key, **options))

    async def download_file(
        self,
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        **options: Unpack[DownloadFileOptions],
    ) -> DownloadResult:
        """:meth:`Connection.download_file <s3po.Connection.download_file>`, awaited."""
        return await self._run(lambda: self.sync.download_file(bucket, key, path, **options))

    async def download_fileobj(
        self, bucket: str, key: str, fileobj: IO[bytes], **options: Unpack[DownloadToOptions]
    ) -> DownloadResult:
        """:meth:`Connection.download_fileobj <s3po.Connection.download_fileobj>`, awaited."""
        return await self._run(lambda: self.sync.download_fileobj(bucket, key, fileobj, **options))

    # -- objects --------------------------------------------------------------------------

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        """:meth:`Connection.head <s3po.Connection.head>`, awaited."""
        return await self._run(lambda: self.sync.head(bucket, key))

    async def exists(self, bucket: str, key: str) -> bool:
        """:meth:`Connection.exists <s3po.Connection.exists>`, awaited."""
        return await self._run(lambda: self.sync.exists(bucket, key))

    async def delete(self, bucket: str, key: str) -> None:
        """:meth:`Connection.delete <s3po.Connection.delete>`, awaited."""
        await self._run(lambda: self.sync.delete(bucket, key))

    async def list_names(self, bucket: str, prefix: str = "") -> list[str]:
        """:meth:`Connection.list_names <s3po.Connection.list_names>`, awaited."""
        return await self._run(lambda: self.sync.list_names(bucket, prefix))

    async def create_bucket(self, bucket: str) -> None:
        """:meth:`Connection.create_bucket <s3po.Connection.create_bucket>`, awaited."""
        await self._run(lambda: self.sync.create_bucket(bucket))

    async def copy(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        headers: Mapping[str, Any] | Headers | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """:meth:`Connection.copy <s3po.Connection.copy>`, awaited."""
        return await self._run(
            lambda: self.sync.copy(
                src_bucket, src_key, bucket, key, headers=headers, metadata=metadata
            )
        )

    async def cleanup(
        self, bucket: str, prefix: str = "", *, older_than: dt.timedelta | None = None
    ) -> list[MultipartUpload]:
        """:meth:`Connection.cleanup <s3po.Connection.cleanup>`, awaited."""
        return await self._run(lambda: self.sync.cleanup(bucket, prefix, older_than=older_than))

    # -- the seed API's spellings ---------------------------------------------------------

    uploadString = upload_string  # noqa: N815
    uploadFile = upload_file  # noqa: N815
    uploadFileobj = upload_fileobj  # noqa: N815
    downloadString = download_string  # noqa: N815
    downloadBytes = download_bytes  # noqa: N815
    downloadFile = download_file  # noqa: N815
    downloadFileobj = download_fileobj  # noqa: N815
    listNames = list_names  # noqa: N815
    createBucket = create_bucket  # noqa: N815

    if not TYPE_CHECKING:
        # Only for the message: type checkers see no __getattr__, so they report the typo.
        def __getattr__(self, name: str) -> Any:  # noqa: ANN401
            """Refuse a name that is no call, saying so."""
            msg = f"AsyncConnection has no call {name!r}"
            raise AttributeError(msg)

    def batch(self, max_workers: int = 8) -> AsyncBatch:
        """Start a batch of concurrent transfers for ``async with``.

        .. versionadded:: 0.1.0
        """
        return AsyncBatch(self, max_workers)

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


class AsyncBatch:
    """Concurrent transfers on the event loop: each call returns an :class:`asyncio.Task`.

    At most ``max_workers`` run at once. Leaving ``async with`` awaits them all and raises one
    :class:`~s3po.BatchError` for the failures. Each call takes the options of the
    :class:`AsyncConnection` call of the same name; its task's result is that call's.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.3.0
       The calls are real methods returning ``asyncio.Task[result]``.
    """

    def __init__(self, conn: AsyncConnection, max_workers: int = 8) -> None:
        """Make a batch of ``max_workers`` concurrent transfers."""
        if max_workers < 1:
            raise ConfigError("a batch needs at least one worker")
        self._conn = conn
        self._slots = asyncio.Semaphore(max_workers)
        self._tasks: list[tuple[str, asyncio.Task[Any]]] = []

    def _spawn(
        self, name: str, where: str, start: Callable[[], Coroutine[Any, Any, T]]
    ) -> asyncio.Task[T]:
        """Run ``start()`` as a task once a slot is free; remember it for ``__aexit__``.

        The coroutine is made only when its slot is free, so a task cancelled while it
        waits leaves no coroutine that was never awaited.
        """

        async def limited() -> T:
            async with self._slots:
                return await start()

        task = asyncio.get_running_loop().create_task(limited())
        self._tasks.append((f"{name} s3://{where}", task))
        return task

    # -- transfers ------------------------------------------------------------------------

    def upload_string(
        self, bucket: str, key: str, data: str | bytes, **options: Unpack[UploadOptions]
    ) -> asyncio.Task[UploadResult]:
        """:meth:`AsyncConnection.upload_string`, as a task."""
        return self._spawn(
            "upload_string",
            f"{bucket}/{key}",
            lambda: self._conn.upload_string(bucket, key, data, **options),
        )

    def upload_file(
        self,
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        **options: Unpack[UploadFileOptions],
    ) -> asyncio.Task[UploadResult]:
        """:meth:`AsyncConnection.upload_file`, as a task."""
        return self._spawn(
            "upload_file",
            f"{bucket}/{key}",
            lambda: self._conn.upload_file(bucket, key, path, **options),
        )

    def upload_fileobj(
        self, bucket: str, key: str, fileobj: IO[bytes], **options: Unpack[UploadOptions]
    ) -> asyncio.Task[UploadResult]:
        """:meth:`AsyncConnection.upload_fileobj`, as a task."""
        return self._spawn(
            "upload_fileobj",
            f"{bucket}/{key}",
            lambda: self._conn.upload_fileobj(bucket, key, fileobj, **options),
        )

    def download_bytes(
        self, bucket: str, key: str, **options: Unpack[DownloadOptions[bytes]]
    ) -> asyncio.Task[bytes]:
        """:meth:`AsyncConnection.download_bytes`, as a task."""
        return self._spawn(
            "download_bytes",
            f"{bucket}/{key}",
            lambda: self._conn.download_bytes(bucket, key, **options),
        )

    def download_string(
        self, bucket: str, key: str, **options: Unpack[DownloadStringOptions]
    ) -> asyncio.Task[str]:
        """:meth:`AsyncConnection.download_string`, as a task."""
        return self._spawn(
            "download_string",
            f"{bucket}/{key}",
            lambda: self._conn.download_string(bucket, key, **options),
        )

    def download_file(
        self,
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        **options: Unpack[DownloadFileOptions],
    ) -> asyncio.Task[DownloadResult]:
        """:meth:`AsyncConnection.download_file`, as a task."""
        return self._spawn(
            "download_file",
            f"{bucket}/{key}",
            lambda: self._conn.download_file(bucket, key, path, **options),
        )

    def download_fileobj(
        self, bucket: str, key: str, fileobj: IO[bytes], **options: Unpack[DownloadToOptions]
    ) -> asyncio.Task[DownloadResult]:
        """:meth:`AsyncConnection.download_fileobj`, as a task."""
        return self._spawn(
            "download_fileobj",
            f"{bucket}/{key}",
            lambda: self._conn.download_fileobj(bucket, key, fileobj, **options),
        )

    # -- objects --------------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> asyncio.Task[ObjectInfo]:
        """:meth:`AsyncConnection.head`, as a task."""
        return self._spawn("head", f"{bucket}/{key}", lambda: self._conn.head(bucket, key))

    def exists(self, bucket: str, key: str) -> asyncio.Task[bool]:
        """:meth:`AsyncConnection.exists`, as a task."""
        return self._spawn("exists", f"{bucket}/{key}", lambda: self._conn.exists(bucket, key))

    def delete(self, bucket: str, key: str) -> asyncio.Task[None]:
        """:meth:`AsyncConnection.delete`, as a task."""
        return self._spawn("delete", f"{bucket}/{key}", lambda: self._conn.delete(bucket, key))

    def list_names(self, bucket: str, prefix: str = "") -> asyncio.Task[list[str]]:
        """:meth:`AsyncConnection.list_names`, as a task."""
        return self._spawn(
            "list_names", f"{bucket}/{prefix}", lambda: self._conn.list_names(bucket, prefix)
        )

    def create_bucket(self, bucket: str) -> asyncio.Task[None]:
        """:meth:`AsyncConnection.create_bucket`, as a task."""
        return self._spawn("create_bucket", bucket, lambda: self._conn.create_bucket(bucket))

    def copy(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        headers: Mapping[str, Any] | Headers | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> asyncio.Task[ObjectInfo]:
        """:meth:`AsyncConnection.copy`, as a task."""
        return self._spawn(
            "copy",
            f"{src_bucket}/{src_key}",
            lambda: self._conn.copy(
                src_bucket, src_key, bucket, key, headers=headers, metadata=metadata
            ),
        )

    def cleanup(
        self, bucket: str, prefix: str = "", *, older_than: dt.timedelta | None = None
    ) -> asyncio.Task[list[MultipartUpload]]:
        """:meth:`AsyncConnection.cleanup`, as a task."""
        return self._spawn(
            "cleanup",
            f"{bucket}/{prefix}",
            lambda: self._conn.cleanup(bucket, prefix, older_than=older_than),
        )

    # -- the seed API's spellings ---------------------------------------------------------

    uploadString = upload_string  # noqa: N815
    uploadFile = upload_file  # noqa: N815
    uploadFileobj = upload_fileobj  # noqa: N815
    downloadString = download_string  # noqa: N815
    downloadBytes = download_bytes  # noqa: N815
    downloadFile = download_file  # noqa: N815
    downloadFileobj = download_fileobj  # noqa: N815
    listNames = list_names  # noqa: N815
    createBucket = create_bucket  # noqa: N815

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:  # noqa: ANN401
            """Refuse a name that is no call, saying so."""
            msg = f"AsyncBatch has no call {name!r}"
            raise AttributeError(msg)

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
            listed = failure_list([(n, e) for n, e in failed if e is not None])
            raise BatchError(f"{len(errors)} of {len(tasks)} transfers failed: {listed}", errors)
