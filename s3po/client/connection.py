"""Connection: the front end users call first; its ``batch()`` is a :class:`~s3po.Batch`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import logging
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from s3po._headers import parse_headers
from s3po._types import Backend
from s3po.client.background import BatchProgress, Handle, Runner
from s3po.client.base import UNSET, Defaults
from s3po.client.batch import Batch
from s3po.client.calls import CallsOf
from s3po.client.legacy import Mock
from s3po.client.options import Direct, take_async
from s3po.config import TransferConfig
from s3po.errors import ConfigError
from s3po.plugins import Registries, default_registries
from s3po.transfer import Transfer

if TYPE_CHECKING:
    import datetime as dt
    from types import TracebackType

    from s3po._types import MultipartUpload

__all__ = ["CREDENTIAL_OPTIONS", "DEFAULT_BACKEND_ENV", "Batch", "Connection", "default_backend"]

log = logging.getLogger("s3po")

T = TypeVar("T")

#: Environment variable naming the backend ``Connection()`` uses when none is given.
DEFAULT_BACKEND_ENV = "S3PO_BACKEND"
#: The backend ``Connection()`` uses for S3 when none is named: obstore's Rust client for GET,
#: PUT and DELETE, boto3 for the rest (``"s3"`` names the boto3-only backend).
_DEFAULT_BACKEND = "obstore"
#: Used instead when the registries hold no ``obstore`` (a plugin blocked or not installed).
_FALLBACK_BACKEND = "s3"

_LIVE: weakref.WeakSet[Connection] = weakref.WeakSet()

#: Backend options that hold credentials; a pickled Connection leaves them out by default.
CREDENTIAL_OPTIONS = frozenset(
    {
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        # fsspec's storage options (s3fs, gcsfs, adlfs, sftp, ...)
        "key",
        "secret",
        "token",
        "password",
        "account_key",
        "sas_token",
        "client_secret",
        "credentials",
    }
)


class Connection(CallsOf[Direct]):
    """A connection to one storage backend, with defaults for every call.

    Args:
        backend: A backend name (``"obstore"``, the default for S3; ``"s3"``, S3 through
            boto3 alone; ``"local"``; or any plugin's), or a ready :class:`~s3po.Backend`.
            Defaults to ``$S3PO_BACKEND``, else ``"obstore"`` (else ``"s3"`` when the
            obstore plugin is blocked).
        root: The local backend's folder (buckets are folders below it).
        compress: Default codec for uploads (None: store as given).
        retries: Default retries after the first attempt (3).
        headers: Headers applied to every upload.
        delete: Default of ``upload_file(delete=)``.
        guess_content_type: Default of ``upload_file(guess_content_type=)`` (True): give a
            file uploaded without a Content-Type the one its extension names.
        callback: Default callback for every call.
        config: A full :class:`~s3po.TransferConfig` (the options above override it).
        registries: Where backends and codecs come from (default: installed plugins).
        max_background: Workers for ``background=True`` calls (default 8).
        background: The default of ``background=`` for uploads (default False): True
            returns a :class:`~s3po.Handle` from every upload at once, as the original
            s3po's ``Connection(async=True)`` did. Downloads return their content unless
            asked. ``**{"async": True}`` still works for it, with a DeprecationWarning.
        tempdir: Where ``downloadFile`` without a filename puts its temporary file
            (default: the system's temporary folder).
        pickle_credentials: Whether a pickled copy carries the credentials given in
            ``**options`` (default False). See below.
        **options: Passed to the backend (``endpoint_url=``, ``region_name=``, ...).

    Use it as a context manager, or call :meth:`close`, to wait for background work.

    A Connection pickles as its recipe (backend name, options, configuration), and the
    copy rebuilds its clients where it is unpickled, as a dask or multiprocessing worker
    does. By default the pickle carries no credentials: the access key id, secret key and
    session token given here (and fsspec's ``key``, ``secret``, ``token``, ``password``, ...;
    see :data:`CREDENTIAL_OPTIONS`) are left out, and the copy resolves credentials where it
    lands with the standard chain (environment, profile, container or instance role). To
    ship the explicit keys inside the pickle, in clear text, pass
    ``pickle_credentials=True``; only do so over channels you would send the keys over.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       Pickles leave credentials out unless ``pickle_credentials=True``.
    .. versionchanged:: 0.4.0
       ``background=`` and ``tempdir=``; ``async=`` is the deprecated name of ``background=``;
       ``guess_content_type=``.
    """

    def __init__(
        self,
        backend: str | Backend | None = None,
        *,
        root: str | os.PathLike[str] | None = None,
        compress: str | None = None,
        retries: int | None = None,
        headers: Mapping[str, Any] | None = None,
        delete: bool = False,
        guess_content_type: bool = True,
        callback: Callable[[Any], object] | None = None,
        config: TransferConfig | None = None,
        registries: Registries | None = None,
        max_background: int = 8,
        pickle_credentials: bool = False,
        background: bool = False,
        tempdir: str | os.PathLike[str] | None = None,
        **options: Any,  # noqa: ANN401
    ) -> None:
        """Open the backend and build the pipeline."""
        if "async" in options:  # the original's Connection(async=True)
            background = take_async(options)
        self.registries = registries or default_registries()
        self.pickle_credentials = pickle_credentials
        if root is not None:
            options["root"] = os.fspath(root)
        self._backend_spec = backend
        self._options = options
        cfg = config or TransferConfig()
        changes: dict[str, Any] = {}
        if compress is not None:
            self.registries.codecs.get(compress)
            changes["compress"] = compress
        if retries is not None:
            changes["retries"] = retries
        parsed = parse_headers(headers)
        if parsed is not None:
            changes["headers"] = parsed
        if changes:
            cfg = cfg.evolve(**changes)
        if max_background < 1:
            raise ConfigError("max_background must be 1 or more")
        if not isinstance(guess_content_type, bool):
            raise ConfigError(
                f"guess_content_type= takes True or False, not {guess_content_type!r}"
            )
        self.defaults = Defaults(
            delete=delete,
            guess_content_type=guess_content_type,
            callback=callback,
            background=background,
            tempdir=None if tempdir is None else os.fspath(tempdir),
        )
        self.max_background = max_background
        backend_obj = self._open_backend()
        _check_parts(cfg, backend_obj)
        self.transfer = Transfer(backend_obj, self.registries.codecs, config=cfg)
        self._runner: Runner | None = None
        self._runner_lock = threading.Lock()
        _LIVE.add(self)

    @classmethod
    def memory(cls, **kwargs: Any) -> Self:  # noqa: ANN401
        """A Connection to a new, empty in-memory store (the ``memory`` backend).

        For unit tests: objects live in this process, with S3's semantics. ``kwargs`` are
        the Connection's (``compress=``, ``retries=``, ...) and the backend's
        (``create_buckets=False`` refuses writes to missing buckets, as S3 does).

        .. versionadded:: 0.4.0
        """
        return cls("memory", **kwargs)

    @classmethod
    def s3(cls, **kwargs: Any) -> Self:  # noqa: ANN401
        """A Connection to S3 (or an S3-compatible endpoint), whatever ``$S3PO_BACKEND`` says.

        ``kwargs`` are the Connection's and boto3's (``endpoint_url=``, ``region_name=``,
        ``aws_access_key_id=``, ...). It uses the default S3 backend, as ``Connection()``
        does without ``$S3PO_BACKEND``.

        .. versionadded:: 0.4.0
        """
        registries = kwargs.pop("registries", None) or default_registries()
        return cls(default_backend(registries), registries=registries, **kwargs)

    def mock(self) -> Mock:
        """Send this connection's calls to a fresh in-memory store until the mock stops.

        The original s3po's "Built-in Mocking"; use ``with conn.mock():``, or ``start()``
        and ``stop()`` (see :class:`~s3po.client.legacy.Mock`).

        .. versionadded:: 0.4.0
        """
        return Mock(self)

    def _open_backend(self) -> Backend:
        spec = self._backend_spec
        if spec is None:
            spec = os.environ.get(DEFAULT_BACKEND_ENV) or default_backend(self.registries)
        if isinstance(spec, str):
            return self.registries.backends.create(spec, **self._options)
        if self._options:
            raise ConfigError("backend options go with a backend name, not a ready backend")
        return spec

    @property
    def _conn(self) -> Connection:
        return self

    @property
    def config(self) -> TransferConfig:
        """The defaults every call starts from."""
        return self.transfer.config

    @property
    def backend(self) -> Backend:
        """The storage backend."""
        return self.transfer.backend

    def config_for(
        self,
        *,
        compress: str | None = UNSET,
        retries: int | None = None,
        decompress: bool | None = None,
        resume: bool | None = None,
    ) -> TransferConfig:
        """The configuration a call with these overrides runs with.

        .. versionadded:: 0.1.0

        .. versionchanged:: 0.4.0
           ``resume``.
        """
        changes: dict[str, Any] = {}
        if resume is not None and resume != self.config.resume:
            changes["resume"] = resume
        if compress is not UNSET:
            if compress is not None:
                self.registries.codecs.get(compress)
            changes["compress"] = compress
        if retries is not None:
            changes["retries"] = retries
        if decompress is not None and decompress != self.config.decompress:
            changes["decompress"] = decompress
        return self.config.evolve(**changes) if changes else self.config

    # -- where calls run ------------------------------------------------------------------

    def _dispatch(
        self,
        op: str,
        bucket: str,
        key: str,
        fn: Callable[[], T],
        *,
        background: bool,
        callback: Callable[[T], object] | None,
    ) -> T | Handle[T]:
        if background:
            return self._background().submit(Handle(op, bucket, key), fn, callback)
        value = fn()
        if callback is not None:
            callback(value)
        return value

    def _background(self) -> Runner:
        with self._runner_lock:
            if self._runner is None:
                pool = cf.ThreadPoolExecutor(self.max_background, thread_name_prefix="s3po-bg")
                self._runner = Runner(pool, max_pending=self.max_background * 4, own_executor=True)
            return self._runner

    def batch(
        self,
        max_workers: int = 8,
        *,
        executor: cf.Executor | None = None,
        max_pending: int | None = None,
        max_inflight_bytes: int | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
        group_size: int | None = None,
    ) -> Batch:
        """Start a batch of concurrent transfers; use it in a ``with`` block.

        Args:
            max_workers: Concurrent transfers (a thread pool of this size).
            executor: Run on this executor instead (a thread pool of yours, or a dask
                client's ``get_executor()``; the Connection pickles, the batch does not).
            max_pending: Unfinished transfers before submission blocks (default
                ``2 * max_workers``).
            max_inflight_bytes: Part buffers of all multipart uploads in the batch share
                this many bytes (default: 4 parts per worker, at least 256 MiB).
            on_progress: Called with a :class:`~s3po.BatchProgress` after each transfer
                (after each group, for jobs sent in groups).
            group_size: Jobs per task for :meth:`Batch.stream <s3po.Batch.stream>` and
                :meth:`Batch.run <s3po.Batch.run>` (default: 500 on a cluster executor, 1
                on a thread pool).

        .. versionadded:: 0.1.0
        .. versionchanged:: 0.4.0
           ``group_size``.
        """
        pool = self.backend.capabilities.max_connections
        if pool and max_workers > pool:
            log.warning(
                "batch(%d) runs more transfers at once than the %s backend keeps connections "
                "(%d); pass max_pool_connections=%d (or more) to Connection to reuse them all",
                max_workers,
                self.backend.name,
                pool,
                max_workers,
            )
        return Batch(
            self,
            max_workers,
            executor=executor,
            max_pending=max_pending,
            max_inflight_bytes=max_inflight_bytes,
            on_progress=on_progress,
            group_size=group_size,
        )

    def wait(self) -> None:
        """Wait for every background transfer; raise BatchError if any failed.

        .. versionadded:: 0.1.0
        """
        runner = self._runner
        if runner is None:
            return
        runner.wait()
        runner.raise_for_errors("background transfers", clear=True)

    def cleanup(
        self, bucket: str, prefix: str = "", *, older_than: dt.timedelta | None = None
    ) -> list[MultipartUpload]:
        """Abort incomplete multipart uploads under ``prefix`` started before ``older_than`` ago.

        Returns the uploads aborted. The resume journals of this store's ``bucket``/``prefix``
        (see :mod:`s3po.resume`) go too: those begun before ``older_than`` ago (with a
        download's partial file), those of the uploads aborted, and damaged ones. A journal
        a running transfer holds locked is never removed, nor the upload it names aborted.

        .. versionadded:: 0.1.0

        .. versionchanged:: 0.4.0
           Removes stale resume journals; leaves those in use, and their uploads, alone.
        """
        import datetime as dt  # noqa: PLC0415

        from s3po.resume import (  # noqa: PLC0415
            busy_uploads,
            remove_journal,
            stale_journals,
            store_name,
        )

        now = dt.datetime.now(dt.UTC)
        aborted = []
        busy = busy_uploads()
        for upload in list(self.transfer.list_multipart(bucket, prefix)):
            started = upload.initiated
            if older_than is not None and started is not None and now - started < older_than:
                continue
            if upload.upload_id in busy:
                log.info(
                    "kept multipart upload %s of s3://%s/%s: a running transfer is resuming "
                    "it (its resume journal is locked)",
                    upload.upload_id,
                    bucket,
                    upload.key,
                )
                continue
            self.transfer.abort_multipart(upload)
            log.info(
                "aborted multipart upload %s of s3://%s/%s", upload.upload_id, bucket, upload.key
            )
            aborted.append(upload)
        ids = {u.upload_id for u in aborted}
        store = store_name(self.backend)
        for entry in stale_journals(store, bucket, prefix, older_than=older_than, aborted=ids):
            if not remove_journal(entry):
                continue
            log.info(
                "removed the resume journal of s3://%s/%s (%s)", bucket, entry.key, entry.local
            )
        return aborted

    def close(self) -> None:
        """Wait for background transfers, then release the backend.

        .. versionadded:: 0.1.0
        """
        try:
            self.wait()
        finally:
            if self._runner is not None:
                self._runner.shutdown()
                self._runner = None
            self.transfer.close()
            _LIVE.discard(self)

    def __enter__(self) -> Self:
        """Return self."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close (waiting for background work)."""
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the recipe, not the clients: they are rebuilt where the object lands.

        Credentials are left out unless the Connection was made with
        ``pickle_credentials=True``.
        """
        if not isinstance(self._backend_spec, str | None):
            msg = "a Connection built on a ready backend object cannot be pickled; pass its name"
            raise TypeError(msg)
        options = self._options
        if not self.pickle_credentials:
            options = {k: v for k, v in options.items() if k not in CREDENTIAL_OPTIONS}
        return {
            "backend": self._backend_spec,
            "options": options,
            "config": self.config,
            "defaults": self.defaults,
            "max_background": self.max_background,
            "pickle_credentials": self.pickle_credentials,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild the backend from the pickled recipe."""
        self.registries = default_registries()
        self._backend_spec = state["backend"]
        self._options = state["options"]
        self.defaults = state["defaults"]
        self.max_background = state["max_background"]
        self.pickle_credentials = state.get("pickle_credentials", False)
        self.transfer = Transfer(
            self._open_backend(), self.registries.codecs, config=state["config"]
        )
        self._runner = None
        self._runner_lock = threading.Lock()
        _LIVE.add(self)

    def __repr__(self) -> str:
        """Show the backend (never credentials)."""
        return f"<s3po.Connection backend={self.backend.name!r}>"


def default_backend(registries: Registries) -> str:
    """The backend name used when none is given and ``$S3PO_BACKEND`` is unset.

    .. versionadded:: 0.2.0
    """
    backends = registries.backends
    return _DEFAULT_BACKEND if _DEFAULT_BACKEND in backends else _FALLBACK_BACKEND


def _check_parts(config: TransferConfig, backend: Backend) -> None:
    """Refuse a part size the backend would refuse, before any I/O."""
    floor = backend.capabilities.min_part_size
    if config.chunk.part_size < floor:
        raise ConfigError(
            f"part_size {config.chunk.part_size} bytes is below the {backend.name} backend's "
            f"minimum of {floor} bytes (S3 refuses parts under 5 MiB but the last); "
            "raise part_size"
        )


@atexit.register
def _drain_at_exit() -> None:
    for conn in list(_LIVE):
        runner = conn._runner  # noqa: SLF001
        if runner is None or (not runner.pending and not runner.failures()):
            continue
        log.warning("waiting for %d background s3po transfer(s) at exit", runner.pending)
        runner.wait()
        for handle in runner.failures(clear=True):
            log.error(
                "background %s of s3://%s/%s failed and nobody waited for it: %r",
                handle.op,
                handle.bucket,
                handle.key,
                handle.exception(),
            )
