"""The keyword options of each call family, typed once and shared by every front end.

:class:`~s3po.Connection`, :class:`~s3po.Batch`, :class:`~s3po.AsyncConnection` and
:class:`~s3po.AsyncBatch` take these as ``**options: Unpack[...]`` (PEP 692), so a misspelled
or mistyped option fails ``mypy --strict``; at run time :func:`seed_keywords` refuses it with
:class:`~s3po.UnknownArgument` (and a did-you-mean), and :func:`check_options` refuses a
mistyped value with :class:`~s3po.ConfigError`, before any I/O.

.. versionadded:: 0.3.0
"""

from __future__ import annotations

import difflib
import functools
import inspect
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, ParamSpec, TypedDict, TypeVar, final

from s3po._types import Headers
from s3po.errors import ConfigError, UnknownArgument
from s3po.transfer import DownloadResult, Progress, UploadResult

__all__ = [
    "Direct",
    "DownloadFileOptions",
    "DownloadOptions",
    "DownloadPathOptions",
    "DownloadStringOptions",
    "DownloadToOptions",
    "Handled",
    "UploadFileOptions",
    "UploadOptions",
    "check_options",
    "refuse_unknown",
    "seed_keywords",
    "take_async",
]

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")


@final
class Direct:
    """Mode of a front end whose calls return their result (or a Handle with background=True)."""


@final
class Handled:
    """Mode of a front end whose calls always return a :class:`~s3po.Handle` (a batch)."""


class UploadOptions(TypedDict, total=False):
    """Options of ``upload_string`` and ``upload_fileobj`` (see those calls for each one).

    .. versionadded:: 0.3.0
    """

    compress: str | None
    headers: Mapping[str, Any] | Headers | None
    metadata: Mapping[str, str] | None
    retries: int | None
    callback: Callable[[UploadResult], object] | None
    progress: Progress | None
    if_none_match: str | None
    if_match: str | None
    silent: bool


class UploadFileOptions(UploadOptions, total=False):
    """Options of ``upload_file``: those of every upload, plus two of its own.

    ``delete``, ``guess_content_type``, ``resume`` and ``keep_mtime``.

    .. versionadded:: 0.3.0
    .. versionchanged:: 0.4.0
       ``guess_content_type``, ``resume`` and ``keep_mtime``.
    """

    delete: bool | None
    guess_content_type: bool | None
    resume: bool | None
    keep_mtime: bool


class DownloadOptions(TypedDict, Generic[T], total=False):
    """Options of ``download_bytes``; ``T`` is what the callback receives.

    .. versionadded:: 0.3.0
    """

    decompress: bool
    retries: int | None
    callback: Callable[[T], object] | None


class DownloadStringOptions(DownloadOptions[str], total=False):
    """Options of ``download_string``: those of every download, plus ``encoding``.

    .. versionadded:: 0.3.0
    """

    encoding: str | None


class DownloadToOptions(DownloadOptions[DownloadResult], total=False):
    """Options of ``download_file`` and ``download_fileobj``: plus ``progress``.

    .. versionadded:: 0.3.0
    """

    progress: Progress | None


class DownloadFileOptions(DownloadToOptions, total=False):
    """Options of ``download_file``: those of ``download_fileobj``, plus two of its own.

    ``resume`` and ``keep_mtime``.

    .. versionadded:: 0.4.0
    """

    resume: bool | None
    keep_mtime: bool


class DownloadPathOptions(DownloadOptions[str], total=False):
    """Options of the original's ``downloadFile(bucket, key, filename=...)``: it gives a path.

    .. versionadded:: 0.4.0
    """

    progress: Progress | None


def seed_keywords(fn: Callable[P, R]) -> Callable[P, R]:
    """Accept the seed API's ``async=``; refuse any other unknown keyword with a did-you-mean.

    ``async`` is a reserved word, so it only arrives as ``**{"async": True}``; it warns and
    stands for ``background=``. The original's ``silent=True`` warns that it is ignored.
    Type checkers see ``fn``'s own signature, which has no ``**kwargs``, so they report a
    misspelled keyword where it is written.
    """
    op = fn.__name__
    parameters = inspect.signature(fn).parameters.values()
    names = frozenset(p.name for p in parameters)
    keywords = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY]

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        if "async" in kwargs:
            kwargs["background"] = take_async(kwargs, stacklevel=2)
        if kwargs.get("silent"):
            warnings.warn(
                "silent= is ignored: failures raise (catch s3po.S3poError to go on)",
                DeprecationWarning,
                stacklevel=2,
            )
        refuse_unknown(op, kwargs.keys() - names, keywords)
        return fn(*args, **kwargs)

    return call


def take_async(kwargs: dict[str, Any], *, stacklevel: int = 2) -> bool:
    """Remove the seed API's ``async`` from ``kwargs`` and return it, with a DeprecationWarning.

    .. versionadded:: 0.4.0
    """
    warnings.warn(
        "async= is deprecated (async is a reserved word since Python 3.7); use background=True",
        DeprecationWarning,
        stacklevel=stacklevel + 1,
    )
    return bool(kwargs.pop("async"))


def refuse_unknown(op: str, unknown: Iterable[str], keywords: Sequence[str]) -> None:
    """Raise :class:`~s3po.UnknownArgument` naming ``unknown`` keywords, with a did-you-mean.

    .. versionadded:: 0.4.0
    """
    hints = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name, keywords, n=1)
        hints.append(f"{name}= (did you mean {close[0]}=?)" if close else f"{name}=")
    if hints:
        raise UnknownArgument(
            f"{op}() got unexpected keyword argument(s): {', '.join(hints)}; "
            f"it takes {', '.join(f'{k}=' for k in keywords)}"
        )


def check_options(op: str, **values: object) -> None:
    """Refuse an option of the wrong type with ConfigError, before any I/O.

    Only the options whose wrong type would otherwise surface late or obscurely are checked:
    ``compress`` (a codec name), ``retries`` (a count), ``decompress`` and
    ``guess_content_type`` (flags).
    """
    compress = values.get("compress")
    if compress is not None and not isinstance(compress, str):
        _refuse(op, "compress", "a codec name (str) or None", compress)
    retries = values.get("retries")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int)):
        _refuse(op, "retries", "a number of retries (int) or None", retries)
    decompress = values.get("decompress", True)
    if not isinstance(decompress, bool):
        _refuse(op, "decompress", "True or False", decompress)
    guess = values.get("guess_content_type")
    if guess is not None and not isinstance(guess, bool):
        _refuse(op, "guess_content_type", "True, False or None", guess)
    resume = values.get("resume")
    if resume is not None and not isinstance(resume, bool):
        _refuse(op, "resume", "True, False or None", resume)


def _refuse(op: str, name: str, wants: str, value: object) -> None:
    raise ConfigError(f"{op}(): {name}= takes {wants}, not {value!r} ({type(value).__name__})")
