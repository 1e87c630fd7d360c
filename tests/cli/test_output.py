"""What the command line draws: bars in one unit system, a word at 100 %, logs above bars.

The bars are drawn in this process on a console that records what it prints (as a
terminal would see it), so each test is quick; tests/cli/test_terminal.py runs the real
command in a pseudo-terminal.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from s3po._cli import output
from s3po._cli.output import Output, StderrHandler

MIB = 1024 * 1024


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Both streams look like terminals, and bars draw into the returned buffer."""
    buffer = io.StringIO()
    monkeypatch.setattr(output, "_is_tty", lambda _stream: True)
    monkeypatch.setattr(
        output,
        "_stderr_console",
        lambda: Console(file=buffer, force_terminal=True, width=200, color_system=None),
    )
    return buffer


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """A logger with the command line's handler on it."""
    log = logging.getLogger("s3po.test_output")
    handler = StderrHandler()
    log.addHandler(handler)
    log.propagate = False
    yield log
    log.removeHandler(handler)
    log.propagate = True


def test_the_transfer_bar_uses_binary_units_for_sizes_and_rate(screen: io.StringIO) -> None:
    out = Output(json_mode=False, quiet=False)
    with out.transfer_bar("big.bin", 3 * MIB) as advance:
        for _ in range(3):
            advance(MIB)
    drawn = screen.getvalue()
    assert "3.0/3.0 MiB" in drawn
    assert re.search(r"\d (B|KiB|MiB|GiB)/s", drawn), drawn  # rich's own column says MB/s
    assert not re.search(r"\d ?(kB|MB|GB)/s", drawn), drawn


def test_the_speed_is_in_binary_units() -> None:
    task: Any = type("T", (), {"finished_speed": None, "speed": 1.5 * MIB})()
    assert output._speed_text(task) == "1.5 MiB/s"
    task.speed = None
    assert output._speed_text(task) == "?"


def test_a_bar_at_100_percent_says_the_upload_is_completing(screen: io.StringIO) -> None:
    """All bytes sent, CompleteMultipartUpload not back yet: the bar says so, then clears."""
    out = Output(json_mode=False, quiet=False)
    with out.transfer_bar("big.bin", 10, finishing="completing the upload") as advance:
        live = out._live
        assert live is not None
        advance(4)
        assert live.tasks[0].fields["status"] == ""
        advance(6)
        assert live.tasks[0].fields["status"] == "completing the upload…"
        live.refresh()
        assert "completing the upload…" in screen.getvalue()
        advance(-6)  # a retry rewound the stream: moving again, not finishing
        assert live.tasks[0].fields["status"] == ""
        advance(6)
    assert live.tasks[0].fields["status"] == ""  # the final frame: done, no word left over


def test_log_records_print_above_the_bar_not_over_it(
    screen: io.StringIO, logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    out = Output(json_mode=False, quiet=False)
    with out.transfer_bar("big.bin", 10) as advance:
        advance(5)
        logger.warning("the store is slow today")
        advance(5)
    assert "the store is slow today" in screen.getvalue()  # through the bar's console
    assert capsys.readouterr().err == ""  # not written to stderr under the bar
    logger.warning("no bar now")
    assert capsys.readouterr().err == "no bar now\n"


def test_the_cli_logs_through_the_handler(cli: Any, tmp_path: Path) -> None:
    """Python warnings and log records reach stderr through it (no bar without a terminal)."""
    (tmp_path / "f.txt").write_bytes(b"x")
    result = cli("--debug", "cp", "f.txt", "s3://bkt/f.txt", check=0)
    assert b"s3po: DEBUG: s3po" in result.stderr


def test_a_sync_with_nothing_to_do_says_how_many_are_up_to_date(
    cli: Any, tmp_path: Path, make_tree: Any
) -> None:
    make_tree(tmp_path / "src", {"a.txt": b"a", "sub/b.txt": b"b", "c.log": b"c"})
    cli("sync", "src", "s3://bkt/p", check=0)
    said = cli("sync", "src", "s3://bkt/p", check=0)
    assert (said.stdout, said.stderr) == (b"", b"s3po: 3 up to date\n")  # stdout: actions only
    filtered = cli("sync", "src", "s3://bkt/p", "--exclude", "*.log", check=0)
    assert filtered.stderr == b"s3po: 2 up to date\n"
    machine = cli("--json", "sync", "src", "s3://bkt/p", check=0)
    assert (machine.stdout, machine.stderr) == (b"", b"")
    quiet = cli("-q", "sync", "src", "s3://bkt/p", check=0)
    assert (quiet.stdout, quiet.stderr) == (b"", b"")


def test_a_batch_without_a_bar_is_handed_no_progress_callbacks() -> None:
    """Nobody reads per-transfer progress when no bar is drawn: the batch gets None."""
    out = Output(json_mode=False, quiet=False, data_on_stdout=False, progress=False)
    with out.batch_bar("transfers", 3, 30) as bar:
        assert bar.object_callback is None
        assert bar.byte_callback is None


def test_bwlimit_still_sees_every_byte_without_a_bar() -> None:
    paced: list[int] = []
    out = Output(
        json_mode=False, quiet=False, data_on_stdout=False, progress=False, throttle=paced.append
    )
    with out.batch_bar("transfers", 3, 30) as bar:
        assert bar.object_callback is None
        callback = bar.byte_callback
        assert callback is not None
        callback(10)
    assert paced == [10]


def test_a_drawn_batch_bar_takes_both_callbacks(screen: io.StringIO) -> None:
    out = Output(json_mode=False, quiet=False, data_on_stdout=False, progress=True)
    with out.batch_bar("transfers", 3, 30) as bar:
        assert bar.object_callback == bar.on_progress
        assert bar.byte_callback == bar.bytes_moved
    assert "transfers" in screen.getvalue()
