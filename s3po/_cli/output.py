"""Everything the command line prints: result lines, JSON lines, errors and progress bars.

Human lines and JSON records go to standard output, except when standard output carries an
object's bytes (``cp ... -``, ``cat``); then they go to standard error. Errors always go to
standard error as one line, ``s3po: error: ...``. Progress bars draw on standard error,
in binary units throughout (``MiB``, ``MiB/s``); while one is drawn, warnings and log
records print above it (:class:`StderrHandler`), never over it.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from rich.progress import Progress, Task, TaskID

    from s3po.batch import BatchProgress

__all__ = ["BatchBar", "Output", "StderrHandler", "cli_words", "close_stdout", "human_size"]

_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_KIB = 1024

#: The bars drawn now (one at a time in practice); log records print above the last one.
_LIVE_BARS: list[Progress] = []
_LIVE_LOCK = threading.Lock()


def _print_above_bar(line: str) -> bool:
    """Print ``line`` through the live bar's console (above the bar); False if none is live."""
    with _LIVE_LOCK:
        live = _LIVE_BARS[-1] if _LIVE_BARS else None
    if live is None:
        return False
    live.console.print(line, markup=False, highlight=False, soft_wrap=True)
    return True


class StderrHandler(logging.Handler):
    """Log records on standard error, printed above a progress bar while one is drawn.

    ``sys.stderr`` is looked up for each record, not kept, so a test's or a caller's
    replacement is honoured.

    .. versionadded:: 0.4.0
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Write one formatted record."""
        try:
            line = self.format(record)
            if not _print_above_bar(line):
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging's contract: report, never raise
            self.handleError(record)


def human_size(n: float) -> str:
    """Format a byte count with binary units: ``512 B``, ``1.5 MiB``."""
    value = float(n)
    for unit in _SIZE_UNITS:
        if abs(value) < _KIB or unit == _SIZE_UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= _KIB
    return f"{value:.1f} {_SIZE_UNITS[-1]}"  # pragma: no cover - the loop always returns


def close_stdout() -> None:
    """Point standard output at /dev/null, dropping what is buffered for a reader that left.

    .. versionadded:: 0.4.0
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


#: Library wording that has a command-line spelling: (pattern, replacement).
_CLI_WORDS = ((re.compile(r"\bdecompress=False\b"), "--no-decompress"),)
_BUCKET_NAMED = re.compile(r"bucket '([^']+)'|s3://([^/\s]+)")


def cli_words(message: str) -> str:
    """Say ``message`` (a library error's text) the way the command line spells things.

    ``decompress=False`` becomes ``--no-decompress``, and "create it with create_bucket()"
    becomes "create it with `s3po mb s3://NAME`", with the bucket the message names.
    """
    for pattern, replacement in _CLI_WORDS:
        message = pattern.sub(replacement, message)
    if "create_bucket()" in message:
        named = _BUCKET_NAMED.search(message)
        bucket = (named.group(1) or named.group(2)) if named else "BUCKET"
        message = message.replace("create_bucket()", f"`s3po mb s3://{bucket}`")
    return message


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Output:
    """The output of one command run.

    Args:
        json_mode: Print one JSON object per line instead of human lines.
        quiet: Leave out per-action lines and progress bars (results and errors stay).
        data_on_stdout: Standard output carries object bytes, so lines go to stderr.
        progress: Draw bars when the terminals allow (False for ``--no-progress``).
        throttle: Called with each number of bytes moved, before the bars see them
            (``--bwlimit``'s token bucket); it may sleep.
    """

    def __init__(
        self,
        *,
        json_mode: bool,
        quiet: bool,
        data_on_stdout: bool = False,
        progress: bool = True,
        throttle: Callable[[int], None] | None = None,
    ) -> None:
        """Set the modes; progress is decided from them and the terminals."""
        self.json_mode = json_mode
        self.quiet = quiet
        self.data_on_stdout = data_on_stdout
        self.progress = progress
        self.throttle = throttle
        self._live: Progress | None = None
        self._lock = threading.RLock()
        #: Standard output's reader went away; nothing more is written to it.
        self.pipe_closed = False

    @property
    def lines(self) -> IO[str]:
        """The stream for result lines and records."""
        return sys.stderr if self.data_on_stdout else sys.stdout

    @property
    def progress_enabled(self) -> bool:
        """Bars only for people: stderr is a terminal, and so is stdout unless it is the data."""
        if self.quiet or self.json_mode or not self.progress or not _is_tty(sys.stderr):
            return False
        return self.data_on_stdout or _is_tty(sys.stdout)

    def _write(self, line: str, stream: IO[str]) -> None:
        with self._lock:
            if self.pipe_closed and stream is sys.stdout:
                return
            live = self._live
            try:
                if live is not None and _is_tty(stream):
                    live.console.print(line, markup=False, highlight=False, soft_wrap=True)
                else:
                    stream.write(line + "\n")
                    stream.flush()
            except BrokenPipeError:
                if stream is not sys.stdout:
                    raise
                self._reader_gone()

    def _reader_gone(self) -> None:
        """Standard output's reader went away (``... | head``): stop writing to it.

        Standard output is pointed at /dev/null, so nothing buffered fails again at exit.
        On the main thread the BrokenPipeError goes on, to end the command; a transfer's
        line written from a pool thread is dropped, and the command ends when its batch
        does (see :func:`s3po.cli.main`).
        """
        self.pipe_closed = True
        close_stdout()
        if threading.current_thread() is threading.main_thread():
            raise BrokenPipeError(errno.EPIPE, "standard output's reader went away")

    def result(self, human: str, record: dict[str, Any]) -> None:
        """Print what a command found (``ls``, ``head``, ...); never silenced."""
        if self.json_mode:
            self._write(json.dumps(record, default=str), self.lines)
        else:
            self._write(human, self.lines)

    def action(self, human: str, record: dict[str, Any]) -> None:
        """Print what a command did or would do; ``--quiet`` leaves it out."""
        if not self.quiet:
            self.result(human, record)

    def error(self, message: str) -> None:
        """Print one error line on stderr, in the command line's words (:func:`cli_words`)."""
        text = cli_words(" ".join(message.split()))
        self._write(f"s3po: error: {text}", sys.stderr)

    def note(self, message: str) -> None:
        """Print one ``s3po: message`` line on stderr for people (not with -q or --json).

        .. versionadded:: 0.4.0
        """
        if not self.quiet and not self.json_mode:
            self._write(f"s3po: {' '.join(message.split())}", sys.stderr)

    def warning(self, message: str) -> None:
        """Print one warning line on stderr (unless ``--quiet``)."""
        if not self.quiet:
            self._write(f"s3po: warning: {' '.join(message.split())}", sys.stderr)

    @contextlib.contextmanager
    def transfer_bar(
        self, description: str, total: int | None, *, finishing: str = "finishing"
    ) -> Iterator[Callable[[int], None]]:
        """A bar for one transfer: bytes, rate and ETA; yields the ``progress=`` callback.

        Sizes and rate are in binary units. Once every byte is through but the transfer has
        not returned (the store assembling a multipart upload, a download's last checks),
        the bar says ``finishing`` rather than sitting at 100 % with no word.
        """
        if not self.progress_enabled:
            yield self.throttle or _ignore
            return
        from rich.progress import (  # noqa: PLC0415 - only people at a terminal pay for rich
            BarColumn,
            DownloadColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            DownloadColumn(binary_units=True),
            _make_text_column(_speed_text),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=_stderr_console(),
            redirect_stdout=False,
            redirect_stderr=False,
            transient=False,
        )
        task = progress.add_task(_shorten(description), total=total, status="")

        throttle = self.throttle

        def advance(n: int) -> None:
            if throttle is not None:
                throttle(n)
            progress.advance(task, n)
            if total:  # a retry may rewind below the end again
                through = progress.tasks[0].completed >= total
                progress.update(task, status=f"{finishing}…" if through else "")

        with self._showing(progress):
            yield advance
            done = progress.tasks[0].completed
            progress.update(
                task, total=max(done, 1) if total is None else done, completed=done, status=""
            )

    @contextlib.contextmanager
    def batch_bar(self, description: str, objects: int, total_bytes: int) -> Iterator[BatchBar]:
        """A bar for a batch: objects done of all, bytes moved and rate."""
        bar = BatchBar(self.throttle)
        if not self.progress_enabled:
            yield bar
            return
        from rich.progress import (  # noqa: PLC0415 - only people at a terminal pay for rich
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TextColumn("objects"),
            _BytesColumn(),
            TimeRemainingColumn(),
            console=_stderr_console(),
            redirect_stdout=False,
            redirect_stderr=False,
        )
        task = progress.add_task(description, total=objects, moved=0, of=total_bytes, start_at=0.0)
        bar.attach(progress, task)
        with self._showing(progress):
            yield bar
            bar.finish()

    @contextlib.contextmanager
    def _showing(self, progress: Progress) -> Iterator[None]:
        with self._lock:
            self._live = progress
        with _LIVE_LOCK:
            _LIVE_BARS.append(progress)
        progress.start()
        try:
            yield
        finally:
            progress.stop()
            with _LIVE_LOCK:
                _LIVE_BARS.remove(progress)
            with self._lock:
                self._live = None


class BatchBar:
    """Feeds a batch's progress into a bar (or nowhere, when bars are off)."""

    def __init__(self, throttle: Callable[[int], None] | None = None) -> None:
        """Start detached; ``throttle`` sees each number of bytes moved first."""
        self._throttle = throttle
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._lock = threading.Lock()
        self._moved = 0
        self._started = time.monotonic()

    def attach(self, progress: Progress, task: TaskID) -> None:
        """Draw on ``task`` of ``progress``."""
        self._progress = progress
        self._task = task

    @property
    def object_callback(self) -> Callable[[BatchProgress], None] | None:
        """The batch's ``on_progress``: :meth:`on_progress` while a bar is drawn, else None.

        None spares the batch its per-transfer snapshot and the callback lock it is handed
        under: with bars off (``--no-progress``, or stderr not a terminal) nobody reads them.
        """
        return self.on_progress if self._progress is not None else None

    @property
    def byte_callback(self) -> Callable[[int], None] | None:
        """Each transfer's ``progress=``: :meth:`bytes_moved`, or None when nothing needs it.

        A drawn bar needs the bytes, and so does ``--bwlimit``, which paces them.
        """
        if self._progress is None and self._throttle is None:
            return None
        return self.bytes_moved

    def bytes_moved(self, n: int) -> None:
        """A ``progress=`` callback: ``n`` more bytes went through one of the transfers."""
        if self._throttle is not None:
            self._throttle(n)
        with self._lock:
            self._moved += n
            moved = self._moved
        if self._progress is not None and self._task is not None:
            rate = moved / max(time.monotonic() - self._started, 1e-6)
            self._progress.update(self._task, moved=moved, rate=rate)

    def on_progress(self, snapshot: BatchProgress) -> None:
        """The batch's ``on_progress``: one more transfer finished."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=snapshot.done)

    def finish(self) -> None:
        """Show the final numbers."""
        if self._progress is not None and self._task is not None:
            task = self._progress.tasks[0]
            self._progress.update(self._task, completed=task.total)


def _bytes_text(task: Task) -> str:
    moved = int(task.fields.get("moved", 0))
    rate = float(task.fields.get("rate", 0.0))
    return f"{human_size(moved)} at {human_size(rate)}/s"


def _speed_text(task: Task) -> str:
    """The rate in the bar's binary units (rich's own speed column is decimal)."""
    speed = task.finished_speed or task.speed
    return "?" if speed is None else f"{human_size(speed)}/s"


def _make_text_column(text: Callable[[Task], str]) -> Any:  # noqa: ANN401 - a rich column
    """A rich column showing ``text(task)``; built when rich is loaded."""
    from rich.progress import ProgressColumn  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    class FunctionColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(text(task))

    return FunctionColumn()


def _BytesColumn() -> Any:  # noqa: ANN401 - a rich column, named as the others
    return _make_text_column(_bytes_text)


def _stderr_console() -> Any:  # noqa: ANN401 - rich.console.Console, imported lazily
    from rich.console import Console  # noqa: PLC0415

    return Console(stderr=True)


def _shorten(text: str, width: int = 40) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _ignore(_n: int) -> None:
    return None
