"""Test helpers for backends and middleware: a contract suite and fault-injecting wrappers.

A backend plugin proves itself by subclassing :class:`BackendContract` in its tests and
providing two fixtures, ``backend`` (a fresh :class:`~s3po.Backend`) and ``bucket`` (the name
of an existing, empty bucket on it)::

    class TestMyBackend(BackendContract):
        @pytest.fixture
        def backend(self): ...
        @pytest.fixture
        def bucket(self, backend): ...

Every built-in backend runs this same suite unchanged. The suite is composed of one mixin per
feature (:mod:`s3po.backend.contract`); a backend without a feature subclasses the others.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import s3po
from s3po.backend.contract import BackendContract, md5_etag, multipart_etag
from s3po.backend.models import Headers, ObjectInfo, PartInfo
from s3po.backend.protocol import ForwardingBackend

__all__ = ["BackendContract", "FlakyBackend", "md5_etag", "multipart_etag"]


class FlakyBackend(ForwardingBackend):
    """Fails chosen calls with :class:`~s3po.TransientError` (or any error) on a schedule.

    Args:
        inner: The backend below.
        failures: Maps a method name (``"put_part"``, ``"get"``, ...) to how many of its
            next calls fail.
        error: Builds the error to raise (default: a TransientError).

    Attributes:
        calls: Method name to the number of calls made (failed ones included).

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        inner: s3po.Backend,
        failures: dict[str, int] | None = None,
        error: Callable[[str], BaseException] | None = None,
    ) -> None:
        """Wrap ``inner``."""
        super().__init__(inner)
        self.failures = dict(failures or {})
        self.error = error or (lambda op: s3po.TransientError(f"injected failure of {op}"))
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def _maybe_fail(self, op: str) -> None:
        with self._lock:
            self.calls[op] = self.calls.get(op, 0) + 1
            left = self.failures.get(op, 0)
            if left > 0:
                self.failures[op] = left - 1
                raise self.error(op)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Maybe fail, else forward."""
        self._maybe_fail("head")
        return super().head(bucket, key)

    def get(self, bucket: str, key: str, **kwargs: Any) -> s3po.GetResult:  # noqa: ANN401
        """Maybe fail, else forward."""
        self._maybe_fail("get")
        return super().get(bucket, key, **kwargs)

    def put(self, bucket: str, key: str, body: Any, **kwargs: Any) -> ObjectInfo:  # noqa: ANN401
        """Maybe fail (after reading some of a stream body), else forward."""
        with self._lock:
            failing = self.failures.get("put", 0) > 0
        if failing and hasattr(body, "read"):
            body.read(1)
        self._maybe_fail("put")
        return super().put(bucket, key, body, **kwargs)

    def put_part(self, bucket: str, key: str, upload_id: str, n: int, data: Any) -> PartInfo:  # noqa: ANN401
        """Maybe fail, else forward."""
        self._maybe_fail("put_part")
        return super().put_part(bucket, key, upload_id, n, data)

    def complete_multipart(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Any,  # noqa: ANN401
        **kwargs: Any,  # noqa: ANN401
    ) -> ObjectInfo:
        """Maybe fail, else forward."""
        self._maybe_fail("complete_multipart")
        return super().complete_multipart(bucket, key, upload_id, parts, **kwargs)

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        """Maybe fail, else forward."""
        self._maybe_fail("start_multipart")
        return super().start_multipart(bucket, key, headers=headers)
