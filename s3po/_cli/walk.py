"""Listing a local folder for ``cp -r`` and ``sync``, symlinks followed as aws-cli does.

``walk_local`` follows file and folder symlinks (unless told not to) and lists a real
folder once for each path that reaches it. A folder is a loop only when the walk is
already inside it (one of its ancestors, by device and inode); a loop, a broken link and a
link that resolves to itself are kept apart from the entries that cannot be read for other
reasons (an unlistable folder, a FIFO), because the command line warns about the first kind
(exit status 2) and fails on the second (exit status 1).

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import errno
import itertools
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LocalTree", "broken_link", "walk_local"]


@dataclass(frozen=True, slots=True)
class LocalTree:
    """A local folder as listed: the regular files, and what was found but cannot be read.

    Attributes:
        files: ``(relative path, path, stat)`` of each regular file, sorted by path.
        unreadable: ``(relative path, why)`` of each entry that exists but cannot be read:
            a folder that cannot be listed, a FIFO or a device (a failure, exit status 1).
        links: ``(relative path, why)`` of each broken symlink and symlink loop (a
            warning, exit status 2, as aws-cli).
        ignored: The symlinks left out by ``--no-follow-symlinks``.

    Nothing under any of these paths may be deleted on the other side.
    """

    files: list[tuple[str, Path, os.stat_result]]
    unreadable: list[tuple[str, str]]
    links: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def protects(self, rel: str) -> bool:
        """Whether ``rel`` is, or lies under, an entry that was not read."""
        kept = itertools.chain(
            (bad for bad, _ in self.unreadable), (bad for bad, _ in self.links), self.ignored
        )
        return any(rel == bad or rel.startswith(f"{bad}/") for bad in kept)


def walk_local(root: Path, *, follow_symlinks: bool = True) -> LocalTree:
    """List ``root``, following symlinks (files and folders) unless ``follow_symlinks`` is off.

    A folder is a loop only when it is one of the folders the walk is inside of (its
    ancestors, by device and inode): a real folder that a link elsewhere also points at is
    listed under both paths, as aws-cli lists it.
    """
    files: list[tuple[str, Path, os.stat_result]] = []
    unreadable: list[tuple[str, str]] = []
    links: list[tuple[str, str]] = []
    ignored: list[str] = []
    try:
        top = root.stat()
    except OSError as exc:
        return LocalTree([], [(".", exc.strerror or str(exc))])
    # depth first, in name order: (folder, its relative path with "/", the folders above)
    stack: list[tuple[str, str, frozenset[tuple[int, int]]]] = [
        (str(root), "", frozenset({(top.st_dev, top.st_ino)}))
    ]
    while stack:
        folder, prefix, ancestors = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            unreadable.append((prefix.rstrip("/") or ".", exc.strerror or str(exc)))
            continue
        below: list[tuple[str, str, frozenset[tuple[int, int]]]] = []
        for entry in entries:
            rel = prefix + entry.name
            if not follow_symlinks and entry.is_symlink():
                ignored.append(rel)
                continue
            st = _stat_entry(entry, rel, links, unreadable)
            if st is None:
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in ancestors:
                    links.append((rel, "a symlink loop: it leads back to a folder it is in"))
                else:
                    below.append((entry.path, f"{rel}/", ancestors | {key}))
            elif stat.S_ISREG(st.st_mode):
                files.append((rel, Path(entry.path), st))
            else:
                unreadable.append((rel, "not a regular file"))
        stack.extend(reversed(below))
    files.sort(key=lambda item: item[0])
    return LocalTree(files, sorted(unreadable), sorted(links), sorted(ignored))


def _stat_entry(
    entry: os.DirEntry[str],
    rel: str,
    links: list[tuple[str, str]],
    unreadable: list[tuple[str, str]],
) -> os.stat_result | None:
    """``entry``'s status, through a symlink; None, and noted, when it cannot be had."""
    try:
        return entry.stat()
    except OSError as exc:
        if entry.is_symlink() and exc.errno in {errno.ENOENT, errno.ENOTDIR, errno.ELOOP}:
            links.append((rel, _bad_link(entry.path, exc)))
        else:
            unreadable.append((rel, exc.strerror or str(exc)))
        return None


def _bad_link(path: str, exc: OSError) -> str:
    """Why the symlink at ``path`` cannot be followed: broken, or a loop."""
    if exc.errno == errno.ELOOP:
        return "a symlink loop: it resolves to itself"
    try:
        target = str(Path(path).readlink())
    except OSError:  # pragma: no cover - replaced between the stat and now
        target = "?"
    return f"a broken symlink (to {target!r}, which does not exist)"


def _stat_error(path: Path) -> OSError:
    """The error ``stat`` raises for ``path`` (a symlink that cannot be followed)."""
    try:
        path.stat()
    except OSError as exc:
        return exc
    return FileNotFoundError(errno.ENOENT, "exists now", str(path))  # pragma: no cover


def broken_link(path: Path) -> str:
    """Why the symlink ``path`` cannot be followed, in words: broken, or a loop."""
    return _bad_link(str(path), _stat_error(path))
