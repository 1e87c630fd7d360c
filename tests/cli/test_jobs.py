"""Without ``--jobs``, a batch's concurrency is sized from its transfers.

Small files are latency-bound (each is one round trip), so 32 go at once; large files
already move their parts in parallel, so 8 do. ``--jobs`` still decides when given.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import s3po
from s3po import cli
from s3po._cli.common import Local, Remote
from s3po._cli.plan import Action
from s3po._cli.run import LARGE_JOBS, SMALL_JOBS, jobs_for

MIB = 1024 * 1024


def _upload(size: int | None) -> Action:
    return Action("upload", Local(Path("f"), "f"), Remote("b", "k"), size)


def test_small_files_run_32_at_once_and_large_ones_8() -> None:
    assert jobs_for([_upload(4096)] * 2000) == SMALL_JOBS == 32
    assert jobs_for([_upload(MIB)] * 3) == SMALL_JOBS
    assert jobs_for([_upload(64 * MIB), _upload(4096)]) == LARGE_JOBS == 8
    assert jobs_for([_upload(None)] * 5) == LARGE_JOBS  # unknown sizes: as large
    assert jobs_for([Action("delete", Remote("b", "k"), size=1 << 30)] * 4) == SMALL_JOBS
    assert jobs_for([]) == LARGE_JOBS


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """``cli.main`` configures logging for its process: put it back for the next tests."""
    names = ["", "s3po", *cli._THIRD_PARTY_LOGGERS]
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = list(logging.getLogger().handlers)
    yield
    root = logging.getLogger()
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("logging_restored")
@pytest.mark.parametrize(("flags", "want"), [((), SMALL_JOBS), (("-j", "3"), 3)])
def test_cp_r_sizes_its_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: tuple[str, ...], want: int
) -> None:
    (tmp_path / "src").mkdir()
    for i in range(3):
        (tmp_path / "src" / f"f{i}").write_bytes(b"x" * 100)
    (tmp_path / "store" / "bkt").mkdir(parents=True)
    asked: list[int] = []
    batch = s3po.Connection.batch

    def spy(self: s3po.Connection, max_workers: int = 8, **kwargs: Any) -> Any:
        asked.append(max_workers)
        return batch(self, max_workers, **kwargs)

    monkeypatch.setattr(s3po.Connection, "batch", spy)
    root = str(tmp_path / "store")
    args = ["--root", root, "cp", "-r", "-q", *flags, str(tmp_path / "src"), "s3://bkt/d/"]
    assert cli.main(args) == 0
    assert asked == [want]
    assert sorted(p.name for p in (tmp_path / "store" / "bkt" / "d").iterdir()) == [
        "f0",
        "f1",
        "f2",
    ]
