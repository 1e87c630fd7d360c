"""``--exclude`` and ``--include``: which of the planned paths a command acts on.

The rules are applied in the order they were given, and the last rule that matches a path
decides: everything is included until an ``--exclude`` matches it, and an ``--include``
after that brings it back. Patterns are shell wildcards (``*``, ``?``, ``[seq]``, ``[!seq]``)
matched against the whole path relative to the source folder or prefix, ``/`` included, so
``*`` crosses folders: ``--exclude '*.log'`` leaves out ``a.log`` and ``logs/2024/b.log``.
Matching is case-sensitive.

For ``sync --delete``, entries of the destination are matched by their path relative to the
destination: an excluded path is neither copied nor deleted.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import argparse
import fnmatch
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from s3po._cli.common import Local, Remote

if TYPE_CHECKING:
    from collections.abc import Sequence

    from s3po._cli.common import Location
    from s3po._cli.plan import Action

__all__ = ["Filters", "add_filter_options", "select"]


class _Rule(argparse.Action):
    """Append ``(kind, pattern)`` to ``namespace.filters``, keeping the command line's order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,  # noqa: ARG002 - argparse's signature
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,  # noqa: ARG002 - argparse's signature
    ) -> None:
        rules = list(getattr(namespace, self.dest, None) or [])
        rules.append((self.const, str(values)))
        setattr(namespace, self.dest, rules)


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--exclude PATTERN`` and ``--include PATTERN`` (both repeatable) to ``parser``."""
    group = parser.add_argument_group("filters (applied in order; the last match decides)")
    group.add_argument(
        "--exclude",
        action=_Rule,
        const="exclude",
        dest="filters",
        metavar="PATTERN",
        help="leave out paths matching PATTERN (relative to SRC; '*' crosses '/')",
    )
    group.add_argument(
        "--include",
        action=_Rule,
        const="include",
        dest="filters",
        metavar="PATTERN",
        help="bring back paths matching PATTERN that an earlier --exclude left out",
    )


@dataclass(frozen=True, slots=True)
class Filters:
    """The ``--exclude`` / ``--include`` rules, in command-line order.

    Attributes:
        rules: ``("exclude" | "include", pattern)`` pairs.
    """

    rules: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, rules: Sequence[tuple[str, str]] | None) -> Filters:
        """The filters parsed into ``args.filters`` (None when no rule was given)."""
        return cls(tuple(rules or ()))

    def __bool__(self) -> bool:
        """Whether any rule was given."""
        return bool(self.rules)

    def includes(self, rel: str) -> bool:
        """Whether ``rel`` (``/``-separated, relative to the root) passes the rules."""
        keep = True
        for kind, pattern in self.rules:
            if fnmatch.fnmatchcase(rel, pattern):
                keep = kind == "include"
        return keep


def relative(location: Location, root: Location) -> str | None:
    """``location``'s path below ``root`` (``/``-separated); its name if it is ``root``."""
    if isinstance(location, Remote) and isinstance(root, Remote):
        if location.key == root.key:
            return location.key.rsplit("/", 1)[-1]
        below = location.key.startswith(root.folder)
        return location.key[len(root.folder) :] if below else None
    if isinstance(location, Local) and isinstance(root, Local):
        if location.path == root.path:
            return location.path.name
        path = PurePath(location.path)
        return path.relative_to(root.path).as_posix() if path.is_relative_to(root.path) else None
    return None


def select(
    actions: Sequence[Action], filters: Filters, src: Location, dst: Location | None = None
) -> list[Action]:
    """The ``actions`` whose path passes ``filters``.

    A transfer or skip is matched by its source's path below ``src``; a ``delete`` by its
    target's path below ``dst`` when given (``sync --delete``), else below ``src`` (``rm``).
    """
    if not filters:
        return list(actions)
    kept = []
    for action in actions:
        root = dst if action.kind == "delete" and dst is not None else src
        rel = relative(action.src, root)
        if rel is None or filters.includes(rel):
            kept.append(action)
    return kept
