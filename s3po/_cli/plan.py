"""What ``cp``, ``sync`` and ``rm`` have to do, worked out before anything is touched.

Planning only lists and reads; the result is a list of :class:`Action`, which ``--dry-run``
prints and :mod:`s3po._cli.run` carries out.

The sync rule
-------------
Each side is listed; entries pair up by their path below SRC and DST. A source entry is
copied when the destination has no entry of that path, or its *logical* size differs, or
the source is newer by more than :data:`MTIME_SLACK` seconds.

* A local file's logical size and mtime come from ``stat``.
* An object's logical size is its ``s3po-size`` metadata, which the CLI writes on every
  upload from a file; without it, the stored size, but only when the object has no
  Content-Encoding (a compressed object's stored size says nothing about its content, so
  then only the mtime is compared).
* Downloading, the object's size is that of the file the download writes
  (:func:`download_size`): the stored size with ``--no-decompress``; else the recorded
  size when s3po's own codec is the only encoding, the stored size when there is none, and
  unknown for an object uploaded already encoded (``--header 'Content-Encoding: gzip'``),
  whose record is the size of the encoded file.
* An object's mtime is its ``s3po-mtime`` metadata (the source file's mtime, written on
  upload); without it, its Last-Modified.
* Listings do not carry metadata on S3, so paired objects that lack ``s3po-size`` in the
  listing get one HEAD each (``--jobs`` at a time, 32 without it).

A download sets the file's mtime to the object's mtime, so a second sync finds nothing to do.
Each pair found equal is an ``up-to-date`` action, counted (not printed one by one).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from s3po._cli.common import STDIO, Local, Location, Remote, Stdio, UsageError
from s3po._cli.walk import LocalTree, broken_link, walk_local
from s3po._types import ObjectInfo
from s3po.codecs import CODEC_METADATA, stored_encoding
from s3po.errors import AccessDenied, NoSuchBucket, NotFound
from s3po.mtimes import META_MTIME, META_SIZE, object_mtime

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from s3po.connection import Connection

__all__ = [
    "META_MTIME",
    "META_SIZE",
    "MTIME_SLACK",
    "Action",
    "Entry",
    "download_size",
    "logical_size",
    "object_mtime",
    "plan_cp",
    "plan_rm",
    "plan_sync",
]

#: Seconds by which a source must be newer than its destination to be copied again.
MTIME_SLACK = 0.001


@dataclass(frozen=True, slots=True)
class Action:
    """One thing to do: ``upload``, ``download``, ``copy``, ``delete``, ``skip``, or none.

    ``skip`` is refused (``reason`` says why); ``up-to-date`` is a sync pair found equal,
    with nothing to do; ``exists`` is kept as it is (``cp --no-clobber``).

    Attributes:
        kind: What to do.
        src: The source (the thing deleted, for ``delete``).
        dst: The destination, for transfers.
        size: Bytes expected to move, when known (for progress).
        move: Delete the source once the transfer succeeded.
        reason: Why a ``skip`` cannot be done.
        warning: The ``skip`` is a warning (a broken symlink, a symlink loop, a link left
            out): the command ends with exit status 2, not 1, when nothing failed.
    """

    kind: str
    src: Location
    dst: Location | None = None
    size: int | None = None
    move: bool = False
    reason: str = ""
    warning: bool = False

    def describe(self) -> str:
        """One human line: ``upload: a.txt -> s3://b/a.txt``."""
        if self.kind == "delete":
            return f"delete: {self.src}"
        if self.kind == "skip":
            return f"skip: {self.src}: {self.reason}"
        if self.kind == "exists":
            return f"skip (exists): {self.src} -> {self.dst}"
        if self.kind == "up-to-date":
            return f"up to date: {self.src}"
        verb = f"move ({self.kind})" if self.move else self.kind
        return f"{verb}: {self.src} -> {self.dst}"

    def record(self, status: str, **more: Any) -> dict[str, Any]:  # noqa: ANN401
        """The JSON record of this action with ``status`` (``ok``, ``failed``, ``dry-run``)."""
        out: dict[str, Any] = {"action": self.kind, "src": str(self.src)}
        if self.dst is not None:
            out["dst"] = str(self.dst)
        if self.size is not None:
            out["size"] = self.size
        if self.move:
            out["move"] = True
        if self.reason:
            out["reason"] = self.reason
        out["status"] = status
        out.update(more)
        return out


@dataclass(frozen=True, slots=True)
class Entry:
    """A file or object found while listing, with what the sync rule compares."""

    location: Local | Remote
    size: int | None
    mtime: float | None
    stored: int
    info: ObjectInfo | None = field(default=None, compare=False)


# -- metadata ---------------------------------------------------------------------------


def logical_size(info: ObjectInfo) -> int | None:
    """The size of an object's content: recorded, else stored if uncompressed, else None."""
    recorded = info.headers.metadata.get(META_SIZE)
    if recorded is not None and recorded.isdigit():
        return int(recorded)
    return None if info.headers.content_encoding else info.size


def download_size(info: ObjectInfo, *, decompress: bool = True) -> int | None:
    """The size of the file a download of the object writes, or None when unknown.

    With ``decompress=False`` the stored bytes are written, so it is the stored size. A
    decoded download undoes every coding of :func:`~s3po.codecs.stored_encoding`: with
    none it writes the stored bytes; when the only one is the codec s3po applied (its
    ``s3po-codec`` record), the content is the file the upload read, whose size is the
    ``s3po-size`` record. An object uploaded already encoded (a ``Content-Encoding`` given
    with the upload) records the size of the encoded file, not of what decoding writes.

    .. versionadded:: 0.4.0
    """
    headers = info.headers
    if not decompress:
        return info.size
    codings = stored_encoding(headers.content_encoding, headers.metadata)
    if not codings:
        return info.size
    ours = headers.metadata.get(CODEC_METADATA, "").strip().lower()
    recorded = headers.metadata.get(META_SIZE)
    if codings == [ours] and recorded is not None and recorded.isdigit():
        return int(recorded)
    return None


# -- listing ----------------------------------------------------------------------------


def _walk_remote(conn: Connection, where: Remote) -> Iterator[tuple[str, ObjectInfo]]:
    prefix = where.folder
    for entry in conn.list(where.bucket, prefix):
        if isinstance(entry, ObjectInfo) and not entry.key.endswith("/"):
            yield entry.key[len(prefix) :], entry


def _safe(rel: str) -> bool:
    parts = rel.split("/")
    return all(p not in {"", ".", ".."} and os.sep not in p for p in parts) and (
        os.altsep is None or all(os.altsep not in p for p in parts)
    )


def _remote_folder_exists(conn: Connection, where: Remote) -> bool:
    """Whether objects exist below ``key/`` (a LIST; refused or missing counts as no)."""
    try:
        return any(True for _ in itertools.islice(conn.list(where.bucket, f"{where.key}/"), 1))
    except (NotFound, AccessDenied):
        return False


# -- cp ---------------------------------------------------------------------------------


def plan_cp(
    conn: Connection,
    src: Location,
    dst: Location,
    *,
    recursive: bool,
    move: bool,
    follow_symlinks: bool = True,
) -> list[Action]:
    """Plan ``cp SRC DST``; ``follow_symlinks=False`` leaves symlinks in a local SRC out.

    Raises:
        UsageError: The pair cannot be copied (two local paths, a folder without -r, ...).
    """
    if isinstance(src, Local | Stdio) and isinstance(dst, Local | Stdio):
        raise UsageError("one of SRC and DST must be an s3:// URL")
    if move and isinstance(src, Stdio):
        raise UsageError("--delete-source cannot delete standard input")
    if recursive:
        if isinstance(src, Stdio) or isinstance(dst, Stdio):
            raise UsageError("'-' (standard input or output) cannot be used with --recursive")
        return _plan_tree(conn, src, dst, move=move, follow_symlinks=follow_symlinks)
    return [_plan_one(conn, src, dst, move=move, follow_symlinks=follow_symlinks)]


def _plan_one(
    conn: Connection, src: Location, dst: Location, *, move: bool, follow_symlinks: bool = True
) -> Action:
    if isinstance(src, Local):
        return _plan_file(conn, src, dst, move=move, follow_symlinks=follow_symlinks)
    if isinstance(src, Stdio):
        if not isinstance(dst, Remote) or dst.is_folder:
            raise UsageError("standard input needs a full destination key: s3://BUCKET/KEY")
        return Action("upload", STDIO, dst)
    if src.is_folder:
        raise UsageError(f"{src} names a prefix, not an object; add -r to copy what is under it")
    name = src.key.rsplit("/", 1)[-1]
    if isinstance(dst, Local):
        return Action("download", src, dst.child(name) if dst.says_folder else dst, move=move)
    if isinstance(dst, Stdio):
        return Action("download", src, STDIO, move=move)
    if dst.is_folder or _remote_folder_exists(conn, dst):
        dst = dst.child(name)
    return Action("copy", src, dst, move=move)


def _plan_file(
    conn: Connection, src: Local, dst: Location, *, move: bool, follow_symlinks: bool
) -> Action:
    if src.path.is_symlink() and not follow_symlinks:
        return Action("skip", src, reason="a symlink (--no-follow-symlinks)", warning=True)
    if not src.path.exists():
        if src.path.is_symlink():
            raise UsageError(f"{src} is {broken_link(src.path)}")
        raise UsageError(f"{src} does not exist")
    if src.path.is_dir():
        raise UsageError(f"{src} is a folder; add -r to copy what is in it")
    if not isinstance(dst, Remote):  # pragma: no cover - excluded by plan_cp
        raise UsageError("a local file can only be copied to an s3:// URL")
    if dst.is_folder or _remote_folder_exists(conn, dst):
        dst = dst.child(src.path.name)
    return Action("upload", src, dst, src.path.stat().st_size, move=move)


def _plan_tree(
    conn: Connection,
    src: Local | Remote,
    dst: Local | Remote,
    *,
    move: bool,
    follow_symlinks: bool = True,
) -> list[Action]:
    if isinstance(src, Local):
        if not src.path.is_dir():
            return [_plan_one(conn, src, dst, move=move, follow_symlinks=follow_symlinks)]
        if not isinstance(dst, Remote):  # pragma: no cover - excluded by plan_cp
            raise UsageError("a local folder can only be copied to an s3:// URL")
        tree = walk_local(src.path, follow_symlinks=follow_symlinks)
        return [
            Action("upload", src.child(rel), dst.child(rel), st.st_size, move=move)
            for rel, _, st in tree.files
        ] + _unreadable(src, tree)
    actions = []
    for rel, info in _walk_remote(conn, src):
        source = Remote(info.bucket or src.bucket, info.key)
        if isinstance(dst, Local):
            if not _safe(rel):
                actions.append(Action("skip", source, reason="the key is not a safe local path"))
                continue
            actions.append(Action("download", source, dst.child(rel), info.size, move=move))
        else:
            actions.append(Action("copy", source, dst.child(rel), info.size, move=move))
    return actions


# -- rm ---------------------------------------------------------------------------------


def plan_rm(conn: Connection, target: Remote, *, recursive: bool) -> list[Action]:
    """Plan ``rm``: one object, or (with ``recursive``) every object under the prefix.

    Raises:
        UsageError: A prefix (or a folder of objects) without ``recursive``.
        NoSuchKey: The single object does not exist.
    """
    if not recursive:
        if target.is_folder:
            raise UsageError(f"{target} names a prefix; add -r to delete what is under it")
        try:
            info = conn.head(target.bucket, target.key)
        except NotFound:
            if _remote_folder_exists(conn, target):
                raise UsageError(f"{target} is a folder; add -r to delete what is in it") from None
            raise
        return [Action("delete", target, size=info.size)]
    return [
        Action("delete", Remote(target.bucket, info.key), size=info.size)
        for _, info in _walk_remote(conn, target)
    ]


# -- sync -------------------------------------------------------------------------------


def _unreadable(where: Local, tree: LocalTree) -> list[Action]:
    """A ``skip`` for each entry not read: a failure (exit status 1), or a warning.

    Broken links and loops are warnings: exit status 2 when nothing failed, as aws-cli.
    """
    failures = [
        Action("skip", where.child(rel), reason=f"cannot be read ({why})")
        for rel, why in tree.unreadable
    ]
    warnings = [
        Action("skip", where.child(rel), reason=why, warning=True) for rel, why in tree.links
    ]
    return sorted(failures + warnings, key=lambda a: str(a.src))


def _entries(
    conn: Connection,
    where: Local | Remote,
    *,
    source: bool,
    size_of: Callable[[ObjectInfo], int | None] = logical_size,
    follow_symlinks: bool = True,
) -> tuple[dict[str, Entry], LocalTree | None]:
    """The entries below ``where``, and for a local folder what it holds that is unreadable.

    ``size_of`` gives an object's size as the sync rule compares it.

    A missing bucket is an empty destination but a failed source: a sync from a bucket that
    is not there must not read as "nothing exists", or ``--delete`` would empty the other side.
    """
    if isinstance(where, Local):
        if not where.path.is_dir():
            return {}, None
        tree = walk_local(where.path, follow_symlinks=follow_symlinks)
        entries = {
            rel: Entry(where.child(rel), st.st_size, st.st_mtime, st.st_size)
            for rel, _, st in tree.files
        }
        return entries, tree
    try:
        listed = list(_walk_remote(conn, where))
    except NoSuchBucket:
        if source:
            raise
        return {}, None
    return {rel: _remote_entry(where.child(rel), info, size_of) for rel, info in listed}, None


def _remote_entry(
    location: Remote, info: ObjectInfo, size_of: Callable[[ObjectInfo], int | None]
) -> Entry:
    return Entry(location, size_of(info), object_mtime(info), info.size, info)


def _with_metadata(
    conn: Connection,
    entries: dict[str, Entry],
    paired: set[str],
    jobs: int,
    size_of: Callable[[ObjectInfo], int | None] = logical_size,
) -> dict[str, Entry]:
    """HEAD the paired objects whose listing lacks the recorded size (S3 lists no metadata)."""
    missing = [
        rel
        for rel in sorted(paired)
        if (info := entries[rel].info) is not None and META_SIZE not in info.headers.metadata
    ]
    if not missing:
        return entries

    def fetch(rel: str) -> tuple[str, Entry]:
        location = entries[rel].location
        assert isinstance(location, Remote)  # noqa: S101 - only objects carry info
        return rel, _remote_entry(location, conn.head(location.bucket, location.key), size_of)

    with cf.ThreadPoolExecutor(max(1, jobs), thread_name_prefix="s3po-sync-head") as pool:
        return {**entries, **dict(pool.map(fetch, missing))}


def _differs(src: Entry, dst: Entry) -> bool:
    if src.size is not None and dst.size is not None and src.size != dst.size:
        return True
    return src.mtime is not None and dst.mtime is not None and src.mtime > dst.mtime + MTIME_SLACK


def plan_sync(
    conn: Connection,
    src: Location,
    dst: Location,
    *,
    delete: bool,
    jobs: int = 8,
    differs: Callable[[Entry, Entry], bool] | None = None,
    decompress: bool = True,
    follow_symlinks: bool = True,
) -> list[Action]:
    """Plan ``sync SRC DST`` by the rule in this module's docstring, or by ``differs``.

    ``decompress`` says whether downloads decode the objects (not ``--no-decompress``): it
    decides the size a download writes, which the local file's size is compared with.
    ``follow_symlinks=False`` leaves the symlinks of a local SRC out (and ``--delete``
    keeps their remote copies).

    Raises:
        UsageError: A pair that cannot be synced (``-``, two local folders, a missing SRC).
    """
    if isinstance(src, Stdio) or isinstance(dst, Stdio):
        raise UsageError("sync works on folders and prefixes, not '-'")
    if isinstance(src, Local) and isinstance(dst, Local):
        raise UsageError("one of SRC and DST must be an s3:// URL")
    if isinstance(src, Local) and not src.path.is_dir():
        raise UsageError(f"{src} is not a folder")
    if isinstance(dst, Local) and dst.path.exists() and not dst.path.is_dir():
        raise UsageError(f"{dst} is not a folder")
    # Both listings finish (or raise) before anything is planned: nothing is deleted on
    # the strength of a listing that did not complete.
    kind = {(Local, Remote): "upload", (Remote, Local): "download", (Remote, Remote): "copy"}[
        (type(src), type(dst))
    ]

    def downloaded(info: ObjectInfo) -> int | None:
        return download_size(info, decompress=decompress)

    size_of = downloaded if kind == "download" else logical_size
    sources, src_tree = _entries(
        conn, src, source=True, size_of=size_of, follow_symlinks=follow_symlinks
    )
    targets, _ = _entries(conn, dst, source=False)
    paired = set(sources) & set(targets)
    sources = _with_metadata(conn, sources, paired, jobs, size_of)
    targets = _with_metadata(conn, targets, paired, jobs)
    actions = _unreadable(src, src_tree) if isinstance(src, Local) and src_tree else []
    for rel, entry in sources.items():
        target = targets.get(rel)
        destination = dst.child(rel)
        if target is not None and not (differs or _differs)(entry, target):
            actions.append(Action("up-to-date", entry.location, destination))
            continue
        if isinstance(destination, Local) and not _safe(rel):
            actions.append(Action("skip", entry.location, reason="not a safe local path"))
            continue
        actions.append(Action(kind, entry.location, destination, entry.stored))
    if delete:
        actions.extend(
            Action("delete", targets[rel].location, size=targets[rel].stored)
            for rel in sorted(set(targets) - set(sources))
            if src_tree is None or not src_tree.protects(rel)
        )
    return actions
