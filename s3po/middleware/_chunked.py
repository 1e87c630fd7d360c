"""What the multipart and ranged layers share.

The chunk configuration, the part plan, and where their tasks run.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import concurrent.futures as cf
import math
from typing import TYPE_CHECKING

from s3po._types import ForwardingBackend
from s3po.errors import ConfigError

if TYPE_CHECKING:
    from s3po._scope import Scope
    from s3po._types import Backend, Capabilities
    from s3po.config import ChunkConfig

__all__ = ["ChunkedLayer", "part_size_for"]

#: With an unknown total size, the part size doubles after every this many parts.
_GROWTH_STEP = 2000


def part_size_for(
    config: ChunkConfig, caps: Capabilities, size: int | None = None, part_number: int = 1
) -> int:
    """The size of part ``part_number`` of an upload of ``size`` bytes (None: unknown).

    The configured part size is raised to the backend's minimum. With a known size, it is
    grown so the upload fits in ``caps.max_parts``; with an unknown size, it doubles every
    2,000 parts, so a stream of up to several hundred GB fits in 10,000 parts.

    Raises:
        ConfigError: The object cannot fit in the backend's limits.

    .. versionadded:: 0.1.0
    """
    # A configured part size above the backend's maximum is clamped to it, so the error
    # below is raised only for objects that truly cannot fit.
    part = min(max(config.part_size, caps.min_part_size), caps.max_part_size)
    if size is not None:
        part = max(part, math.ceil(size / caps.max_parts))
        if part > caps.max_part_size:
            raise ConfigError(
                f"{size} bytes do not fit in {caps.max_parts} parts of at most "
                f"{caps.max_part_size} bytes"
            )
        return part
    return min(part << ((part_number - 1) // _GROWTH_STEP), caps.max_part_size)


class ChunkedLayer(ForwardingBackend):
    """A layer that splits transfers into parts run on a pool.

    Args:
        inner: The backend below (normally the retry layer).
        config: Threshold, part size and concurrency.
        executor: Run part and range requests here.
        scope: The Connection's or batch's byte budget, cancel switch and shared pool
            (used when no ``executor`` is given).

    Without either, each transfer makes a pool of its own.

    .. versionadded:: 0.4.0
    """

    def __init__(
        self,
        inner: Backend,
        config: ChunkConfig,
        *,
        executor: cf.Executor | None = None,
        scope: Scope | None = None,
    ) -> None:
        """Wrap ``inner`` with ``config``; ``scope`` shares a batch's budget and pool."""
        super().__init__(inner)
        self.config = config
        self.executor = executor
        self.scope = scope

    def pool(self, prefix: str) -> tuple[cf.Executor, bool]:
        """Where this transfer's tasks run, and whether it is the transfer's own pool."""
        if self.executor is not None:
            return self.executor, False
        if self.scope is not None:
            return self.scope.pool(self.config.max_concurrency), False
        own = cf.ThreadPoolExecutor(self.config.max_concurrency, thread_name_prefix=prefix)
        return own, True

    def check(self) -> None:
        """Raise :class:`~s3po.Cancelled` if the scope was cancelled."""
        if self.scope is not None:
            self.scope.check()
