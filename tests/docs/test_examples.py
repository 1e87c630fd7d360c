"""Run every code example in README.md and docs/*.md.

Each ```python block runs in a fresh namespace with the page's own temporary folder as the
working directory; the blocks of a page run in order and share that folder, so a later block
may read what an earlier one stored (never its variables). A block whose fence carries
``title="name.py"`` (or any other file name) is also written to that folder under that name,
which is on ``sys.path`` while the page runs, so a later block can import it. ```toml blocks
are parsed. A block preceded by the line ``<!-- not-run: reason -->`` is skipped; the reason
is required. A failure names the page and the line of the block.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
_NOT_RUN = re.compile(r"^\s*<!--\s*not-run:(?P<reason>.*?)-->\s*$")
_TITLE = re.compile(r"""title=(?:"([^"]+)"|'([^']+)')""")
_RUN = {"python", "py", "toml"}
#: Settings read from the environment that would point examples away from the local backend.
_ENV = ("S3PO_BACKEND", "S3PO_DISABLE_PLUGINS", "S3PO_ENDPOINT_URL", "S3PO_REGION",
        "S3PO_PROFILE", "S3PO_ADDRESSING_STYLE", "S3PO_CHECKSUM", "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3")  # fmt: skip


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # 1-based line of the block's first code line
    lang: str
    code: str
    title: str | None
    not_run: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def parse(page: Path, text: str) -> list[Block]:
    """The fenced blocks of ``text``, with their language, title and not-run marker."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"].strip()
        start = i + 1
        end = start
        while end < len(lines):
            closing = lines[end].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(fence[0]):
                break
            end += 1
        body = [line.removeprefix(indent) for line in lines[start:end]]
        lang = info.lstrip("{. ").split(maxsplit=1)[0].lower() if info else ""
        title = _TITLE.search(info)
        marker = _NOT_RUN.match(lines[i - 1]) if i > 0 else None
        if marker is not None and not marker["reason"].strip():
            pytest.fail(f"{page.relative_to(ROOT)}:{i}: a not-run marker needs a reason")
        blocks.append(
            Block(
                page=page,
                line=start + 1,
                lang=lang,
                code=textwrap.dedent("\n".join(body)) + "\n",
                title=(title[1] or title[2]) if title else None,
                not_run=marker["reason"].strip() if marker else None,
            )
        )
        i = end + 1
    return blocks


@contextlib.contextmanager
def _page_folder(folder: Path) -> Iterator[None]:
    """Work in ``folder`` and import from it; undo what the examples changed in the process.

    Examples may set environment variables and logging levels, as a reader's program would;
    those are put back, and modules imported from ``folder`` are forgotten.
    """
    before = set(sys.modules)
    old_cwd = Path.cwd()
    old_env = dict(os.environ)
    loggers = [logging.getLogger(), *map(logging.getLogger, list(logging.root.manager.loggerDict))]
    levels = {lg: lg.level for lg in loggers}
    root_handlers = list(logging.getLogger().handlers)
    os.chdir(folder)
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path.remove(str(folder))
        os.environ.clear()
        os.environ.update(old_env)
        for lg, level in levels.items():
            lg.setLevel(level)
        logging.getLogger().handlers[:] = root_handlers
        for name in set(sys.modules) - before:
            module = sys.modules[name]
            if str(getattr(module, "__file__", "") or "").startswith(str(folder)):
                del sys.modules[name]


def run(block: Block) -> None:
    """Run (or parse) one block; raise AssertionError naming its page and line."""
    if block.title is not None:
        target = Path.cwd() / block.title
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.code, encoding="utf-8")
    try:
        if block.lang == "toml":
            tomllib.loads(block.code)
            return
        # Leading blank lines make the traceback's line numbers those of the page.
        source = "\n" * (block.line - 1) + block.code
        code = compile(source, str(block.page), "exec")
        exec(code, {"__name__": "__docs_example__"})  # noqa: S102 - running the docs is the point
    except Exception as exc:
        msg = f"the example at {block.where} failed: {type(exc).__name__}: {exc}"
        raise AssertionError(msg) from exc


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.parametrize("page", [p for p in PAGES if p.exists()], ids=_page_id)
def test_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    blocks = [b for b in parse(page, page.read_text(encoding="utf-8")) if b.lang in _RUN]
    with _page_folder(tmp_path):
        for block in blocks:
            if block.not_run is None:
                run(block)


def test_readme_and_pages_are_collected() -> None:
    assert (ROOT / "README.md").exists()
    assert ROOT / "docs" / "index.md" in PAGES
    blocks = [b for page in PAGES if page.exists() for b in parse(page, page.read_text())]
    runnable = [b for b in blocks if b.lang in {"python", "py"} and b.not_run is None]
    skipped = [b for b in blocks if b.not_run is not None]
    assert len(runnable) >= 20, "the docs lost their examples"
    # Exemptions stay the exception: each one needs a reason, and there are few.
    assert len(skipped) <= len(runnable) // 3, [b.where for b in skipped]


def test_parser_reads_fences_titles_and_markers() -> None:
    text = textwrap.dedent(
        """\
        Text.

        ```python
        x = 1
        ```

        <!-- not-run: needs a real bucket -->
        ```python
        boom()
        ```

        !!! note
            ```python title="mod.py"
            VALUE = 2
            ```

        ```console
        $ s3po ls
        ```
        """
    )
    page = ROOT / "docs" / "example.md"
    blocks = parse(page, text)
    assert [(b.lang, b.line, b.title, b.not_run) for b in blocks] == [
        ("python", 4, None, None),
        ("python", 9, None, "needs a real bucket"),
        ("python", 14, "mod.py", None),
        ("console", 18, None, None),
    ]
    assert blocks[2].code == "VALUE = 2\n"


def test_a_failing_example_names_its_page_and_line(tmp_path: Path) -> None:
    page = ROOT / "docs" / "example.md"
    block = parse(page, "para\n\n```python\nx = 1\nraise ValueError('nope')\n```\n")[0]
    with _page_folder(tmp_path), pytest.raises(AssertionError, match=r"docs/example.md:4") as info:
        run(block)
    cause = info.value.__cause__
    assert cause is not None
    tb = cause.__traceback__
    assert tb is not None
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_lineno == 5  # the page's own line numbering
