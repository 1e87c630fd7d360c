"""What every front end's calls share: the connection they need and where they run.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from s3po.client.options import Direct, Handled

if TYPE_CHECKING:
    from s3po._scope import Scope
    from s3po.client.background import Handle
    from s3po.config import TransferConfig
    from s3po.transfer import Transfer

__all__ = ["UNSET", "CallBase", "Defaults", "Owner"]

T = TypeVar("T")
#: :class:`~s3po.client.options.Direct` or :class:`~s3po.client.options.Handled`: what the
#: calls return (the result, or always a Handle).
M = TypeVar("M", Direct, Handled)


class _Unset:
    def __repr__(self) -> str:
        return "<default>"


#: The default of ``compress=``: the Connection's codec (None means "store as is").
UNSET: Any = _Unset()


@dataclass(frozen=True, slots=True)
class Defaults:
    """A Connection's defaults for ``upload_file(delete=)`` and every call's ``callback``.

    Also the default of ``background=`` for uploads, of ``upload_file(guess_content_type=)``,
    and the folder ``downloadFile`` without a filename downloads into (None: the system's
    temporary folder).
    """

    delete: bool = False
    guess_content_type: bool = True
    callback: Callable[[Any], object] | None = None
    background: bool = False
    tempdir: str | None = None


class Owner(Protocol):
    """What the calls need from the connection they run on (a Connection is one)."""

    @property
    def transfer(self) -> Transfer:
        """The pipeline."""

    @property
    def defaults(self) -> Defaults:
        """Defaults of the calls."""

    @property
    def config(self) -> TransferConfig:
        """The defaults every call starts from."""

    def config_for(
        self,
        *,
        compress: str | None = ...,
        retries: int | None = ...,
        decompress: bool | None = ...,
        resume: bool | None = ...,
    ) -> TransferConfig:
        """The configuration a call with these overrides runs with."""


class CallBase(Generic[M]):
    """Where calls run: subclasses give the connection and run, background or batch them.

    ``M`` types what a call returns: with :class:`~s3po.client.options.Direct` (a
    Connection) the result, or a :class:`~s3po.Handle` to it with ``background=True``; with
    :class:`~s3po.client.options.Handled` (a Batch) always a Handle. Each call's overloads
    say so once, on the mixin that defines it.
    """

    #: Shared byte budget and cancel switch (set by Batch).
    _scope: Scope | None = None

    @property
    def _conn(self) -> Owner:
        raise NotImplementedError

    def _keep(self, handle: object) -> None:
        """Keep a result for ``Batch.results()`` (only a Batch keeps them)."""

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
        raise NotImplementedError
