"""A griffe extension: render the reST bits of s3po's docstrings on the API page.

The docstrings follow the Google style but keep three reST habits that read well in the
source and in ``help()``: cross-reference roles (``:class:`~s3po.Backend```), ``.. versionadded::``
and, in the hook specifications, ``:param name:`` fields. mkdocstrings would print them
literally, so this rewrites them as mkdocstrings cross-references, a version note and a
Google ``Args:`` section. Only the rendered docs change; the source stays as it is.
"""

# ruff: noqa: INP001 - loaded by path from mkdocs.yml, not imported as a package

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|exc|data|attr|mod|obj):`(~?)([\w.]+)(\(\))?`")
_VERSION = re.compile(r"^(\s*)\.\. versionadded:: (\S+)\s*$", re.MULTILINE)
_PARAM = re.compile(r"^(\s*):param (\w+): (.*)$")
_LITERAL = re.compile(r"::$", re.MULTILINE)


def _resolve(obj: griffe.Object, name: str) -> str:
    """The full path of a bare ``name`` seen in ``obj``'s docstring.

    It is looked up in the nearest scope that has a member of that name: the object itself,
    then its class, then its module.
    """
    scope: griffe.Object | None = obj
    while scope is not None:
        if name in scope.members:
            return f"{scope.path}.{name}"
        scope = scope.parent
    return name


def _role(match: re.Match[str], obj: griffe.Object) -> str:
    tilde, target, call = match.groups()
    if "." not in target:
        identifier = _resolve(obj, target)
        title = target
    else:
        identifier = target
        title = target.rsplit(".", 1)[-1] if tilde else target
    title += call or ""
    return f'<autoref identifier="{identifier}" optional><code>{title}</code></autoref>'


def _params(text: str) -> str:
    """Turn a run of ``:param x: ...`` lines into a Google ``Args:`` section."""
    out: list[str] = []
    in_args = False
    for line in text.splitlines():
        found = _PARAM.match(line)
        if found:
            indent, name, desc = found.groups()
            if not in_args:
                out.append(f"{indent}Args:")
                in_args = True
            out.append(f"{indent}    {name}: {desc}")
            continue
        in_args = False
        out.append(line)
    return "\n".join(out)


def rewrite(text: str, obj: griffe.Object) -> str:
    """Return ``obj``'s docstring ``text`` with its reST markup turned into Markdown."""
    text = _ROLE.sub(lambda m: _role(m, obj), text)
    text = _VERSION.sub(r"\1*Added in version \2.*", text)
    text = _LITERAL.sub(":", text)
    return _params(text)


class RstMarkup(griffe.Extension):
    """Rewrite docstrings as each object is loaded."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:  # noqa: ANN401, ARG002
        """Rewrite ``obj``'s docstring, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value, obj)
