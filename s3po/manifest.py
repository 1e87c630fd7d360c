"""Copies listed in a manifest: read it as it streams, report failures, resume where it stopped.

A manifest lists copies, one a row, each a source and a destination: ``s3://bucket/key`` or
a local path (a local source is uploaded, a local destination downloaded to, two objects
are copied inside the store). A destination ending in ``/`` receives the source's last
name. Formats:

- **CSV**: ``source,destination`` rows; a first row ``source,destination`` is a header;
  further columns are ignored.
- **JSON lines** (``.jsonl``, ``.ndjson``, or a first character ``{``): one object a line
  with ``"source"`` and ``"destination"``; other fields are ignored.
- **S3 Inventory CSV** (``fmt="inventory"``): rows of ``bucket,key,...`` as S3 Inventory
  writes them (keys URL-encoded); each object is copied to ``to`` + its key.
- **S3 Inventory Parquet** (``fmt="inventory"`` on a ``.parquet`` file, read in record
  batches with pyarrow): the ``bucket`` and ``key`` columns (keys as they are, since
  Parquet inventories do not URL-encode them); the failure report is CSV.

:func:`copy_manifest` runs a manifest through one batch (on any executor, in groups on a
dask cluster) and keeps, beside it:

- a **failure report** in the manifest's own format (CSV or JSON lines), one row per copy
  that failed with an ``error`` column, which can be given back as the next manifest (the
  extra column is ignored);
- a **done-log**: the manifest's SHA-256, then the number of each row that was copied. A
  rerun skips those rows. It is a log of what this tool did, not a comparison with the
  destination: checking size and ETag there would cost one request per key on every
  rerun (a million HEADs to skip a million keys), and an ETag says little across
  multipart part sizes, compression and KMS encryption. So a source changed after its row
  was copied is not copied again; use ``s3po sync`` to compare. A done-log written for
  other manifest content is refused.

.. versionadded:: 0.4.0
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import posixpath
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from s3po.client.background import BatchProgress
from s3po.client.jobs import Job, Outcome
from s3po.errors import ConfigError

if TYPE_CHECKING:
    import concurrent.futures as cf

    from s3po.client.connection import Connection

__all__ = ["Entry", "ManifestResult", "copy_manifest", "manifest_format", "read_manifest"]

FORMATS = ("csv", "jsonl", "inventory")
_DONE_MAGIC = "s3po-done-log 1"
#: Done-log lines written between flushes; a crash repeats at most these copies.
_FLUSH_EVERY = 1000


@dataclass(frozen=True, slots=True)
class Entry:
    """One row of a manifest.

    Attributes:
        index: The row's number among the manifest's rows (0 for the first; headers and
            blank lines are not rows).
        line: Where it is in the file (1 for the first line), for messages.
        source: ``s3://bucket/key`` or a local path.
        destination: ``s3://bucket/key`` (or prefix, ending ``/``) or a local path.
        problem: Why the row cannot be copied (a missing column), or None.

    .. versionadded:: 0.4.0
    """

    index: int
    line: int
    source: str
    destination: str
    problem: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ManifestResult:
    """What :func:`copy_manifest` did.

    Attributes:
        entries: Rows in the manifest.
        skipped: Rows skipped because the done-log says they were copied before.
        copied: Rows copied by this run.
        failed: Rows that failed (each in the report).
        bytes: Bytes moved by this run.
        seconds: How long the run took.
        report: The failure report, or None when nothing failed.
        done_log: The done-log.

    .. versionadded:: 0.4.0
    """

    entries: int
    skipped: int
    copied: int
    failed: int
    bytes: int
    seconds: float
    report: Path | None
    done_log: Path

    @property
    def ok(self) -> bool:
        """Whether every row is now copied."""
        return self.failed == 0


def manifest_format(path: str | os.PathLike[str]) -> str:
    """``"jsonl"`` or ``"csv"``, by the file's suffix, else by its first character.

    .. versionadded:: 0.4.0
    """
    suffix = Path(path).suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    if suffix in {".csv", ".tsv"}:
        return "csv"
    with Path(path).open(encoding="utf-8") as file:
        for line in file:
            if line.strip():
                return "jsonl" if line.lstrip().startswith("{") else "csv"
    return "csv"


def read_manifest(
    path: str | os.PathLike[str], *, fmt: str | None = None, to: str | None = None
) -> Iterator[Entry]:
    """Yield the manifest's rows as they are read (the file is never held whole).

    Args:
        path: The manifest.
        fmt: ``"csv"``, ``"jsonl"`` or ``"inventory"`` (default: :func:`manifest_format`).
        to: For ``"inventory"``: the ``s3://bucket/prefix/`` each object is copied below.

    Raises:
        ConfigError: An unknown format, or an inventory without ``to``.

    .. versionadded:: 0.4.0
    """
    fmt = fmt or manifest_format(path)
    if fmt not in FORMATS:
        raise ConfigError(f"unknown manifest format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "inventory" and not to:
        raise ConfigError("an S3 Inventory manifest needs a destination prefix (to=s3://...)")
    if fmt == "inventory" and Path(path).suffix.lower() == ".parquet":
        yield from _parquet_rows(Path(path), str(to))
        return
    with Path(path).open(encoding="utf-8", newline="") as file:
        if fmt == "jsonl":
            yield from _json_rows(file)
        else:
            yield from _csv_rows(file, to if fmt == "inventory" else None)


def _csv_rows(file: IO[str], to: str | None) -> Iterator[Entry]:
    index = 0
    reader = csv.reader(file)
    for row in reader:
        line = reader.line_num
        if not row or not "".join(row).strip():
            continue
        if (
            index == 0
            and to is None
            and [c.strip().lower() for c in row[:2]]
            == [
                "source",
                "destination",
            ]
        ):
            continue
        if to is not None:
            if len(row) < 2:  # noqa: PLR2004 - bucket and key
                yield Entry(index, line, ",".join(row), "", "an inventory row needs bucket,key")
            else:
                key = urllib.parse.unquote_plus(row[1])
                yield Entry(index, line, f"s3://{row[0]}/{key}", _below(to, key))
        elif len(row) < 2 or not row[0].strip() or not row[1].strip():  # noqa: PLR2004
            yield Entry(index, line, row[0] if row else "", "", "a row needs source,destination")
        else:
            yield Entry(index, line, row[0].strip(), row[1].strip())
        index += 1


def _parquet_rows(path: Path, to: str) -> Iterator[Entry]:
    """The rows of an S3 Inventory Parquet file, a record batch at a time."""
    try:
        import pyarrow.parquet as pq  # noqa: PLC0415 - only Parquet manifests need it
    except ImportError as exc:
        raise ConfigError(
            f"{path} is a Parquet inventory, which needs pyarrow: pip install pyarrow"
        ) from exc
    table = pq.ParquetFile(path)
    missing = {"bucket", "key"} - set(table.schema_arrow.names)
    if missing:
        raise ConfigError(
            f"{path} has no {' or '.join(sorted(missing))} column; an S3 Inventory Parquet "
            "file has bucket and key"
        )
    index = 0
    for batch in table.iter_batches(columns=["bucket", "key"]):
        for bucket, key in zip(
            batch.column("bucket").to_pylist(), batch.column("key").to_pylist(), strict=True
        ):
            text = f"{bucket},{key}"
            if not bucket or not key:
                yield Entry(index, index + 1, text, "", "an inventory row needs bucket and key")
            else:
                yield Entry(index, index + 1, f"s3://{bucket}/{key}", _below(to, str(key)))
            index += 1


def _json_rows(file: IO[str]) -> Iterator[Entry]:
    index = 0
    for line, text in enumerate(file, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError as exc:
            yield Entry(index, line, text.strip(), "", f"not JSON: {exc}")
        else:
            source = record.get("source") if isinstance(record, dict) else None
            destination = record.get("destination") if isinstance(record, dict) else None
            if not isinstance(source, str) or not isinstance(destination, str):
                yield Entry(
                    index, line, text.strip(), "", 'a line needs "source" and "destination"'
                )
            else:
                yield Entry(index, line, source, destination)
        index += 1


def _below(prefix: str, key: str) -> str:
    return prefix + key if prefix.endswith("/") else f"{prefix}/{key}"


def entry_job(entry: Entry) -> Job:
    """The batch job that carries out ``entry``; its tag is the entry.

    Raises:
        ConfigError: The row cannot be copied (its problem, two local paths, a bad URL).

    .. versionadded:: 0.4.0
    """
    if entry.problem is not None:
        raise ConfigError(f"line {entry.line}: {entry.problem}")
    src, dst = _where(entry.source, entry), _where(entry.destination, entry)
    if isinstance(src, tuple) and isinstance(dst, tuple):
        bucket, key = dst
        if not key or key.endswith("/"):
            key += posixpath.basename(src[1])
        return Job("copy", src[0], src[1], bucket, key, tag=entry)
    if isinstance(src, tuple):
        target = str(dst)
        if target.endswith(("/", os.sep)):
            target = os.path.join(target, posixpath.basename(src[1]))  # noqa: PTH118
        return Job("download_file", src[0], src[1], target, tag=entry)
    if isinstance(dst, tuple):
        bucket, key = dst
        if not key or key.endswith("/"):
            key += Path(src).name
        return Job("upload_file", bucket, key, src, tag=entry)
    raise ConfigError(
        f"line {entry.line}: both {entry.source!r} and {entry.destination!r} are local"
    )


def _where(text: str, entry: Entry) -> tuple[str, str] | str:
    if text[:5].lower() == "s3://":
        bucket, _, key = text[5:].partition("/")
        if not bucket:
            raise ConfigError(f"line {entry.line}: {text!r} names no bucket")
        return bucket, key
    if "://" in text:
        raise ConfigError(f"line {entry.line}: {text!r}: only s3:// URLs and local paths")
    return text


# -- the done-log and the report -----------------------------------------------------------


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load_done(log: Path, fingerprint: str, entries: int) -> bytearray:
    """One bit a row: set for rows the log says were copied."""
    done = bytearray((entries + 7) // 8)
    if not log.exists():
        return done
    with log.open(encoding="utf-8") as file:
        header = file.readline().split()
        if not header:  # made, then the process died before the first flush
            return done
        if header[:2] != _DONE_MAGIC.split() or header[2:3] != [f"sha256={fingerprint}"]:
            raise ConfigError(
                f"the done-log {log} was written for other manifest content; delete it to "
                "copy everything again, or pass the done-log of this manifest"
            )
        for text in file:
            number = text.strip()
            if number.isdigit() and int(number) < entries:
                done[int(number) >> 3] |= 1 << (int(number) & 7)
    return done


class _DoneLog:
    def __init__(self, path: Path, fingerprint: str) -> None:
        fresh = not path.exists()
        self._file = path.open("a", encoding="utf-8")
        if fresh:
            self._file.write(f"{_DONE_MAGIC} sha256={fingerprint}\n")
        self._unflushed = 0

    def add(self, index: int) -> None:
        self._file.write(f"{index}\n")
        self._unflushed += 1
        if self._unflushed >= _FLUSH_EVERY:
            self._file.flush()
            self._unflushed = 0

    def close(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()


class _Report:
    """Failures written as they come to a temporary file, renamed into place at the end."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.fmt = "jsonl" if fmt == "jsonl" else "csv"
        self._tmp = path.with_name(f".{path.name}.partial")
        self._file: IO[str] | None = None
        self.count = 0

    def add(self, entry: Entry, error: BaseException | str) -> None:
        if self._file is None:
            self._file = self._tmp.open("w", encoding="utf-8", newline="")
            if self.fmt == "csv":
                csv.writer(self._file).writerow(["source", "destination", "error"])
        message = str(error) if isinstance(error, str) else f"{type(error).__name__}: {error}"
        if self.fmt == "jsonl":
            record = {"source": entry.source, "destination": entry.destination}
            self._file.write(json.dumps(record | {"error": message}) + "\n")
        else:
            csv.writer(self._file).writerow([entry.source, entry.destination, message])
        self.count += 1

    def close(self) -> Path | None:
        if self._file is None:
            # nothing failed: a report from an earlier run would tell of failures now done
            self.path.unlink(missing_ok=True)
            return None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._tmp.replace(self.path)
        return self.path


def default_report(manifest: Path) -> Path:
    """``data.csv`` -> ``data.failed.csv``, beside the manifest."""
    suffix = manifest.suffix if manifest.suffix.lower() in {".csv", ".jsonl", ".ndjson"} else ""
    return manifest.with_name(f"{manifest.name.removesuffix(suffix)}.failed{suffix or '.csv'}")


# -- the run ---------------------------------------------------------------------------------


def copy_manifest(
    conn: Connection,
    manifest: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    to: str | None = None,
    report: str | os.PathLike[str] | None = None,
    done_log: str | os.PathLike[str] | None = None,
    max_workers: int = 8,
    executor: cf.Executor | None = None,
    group_size: int | None = None,
    on_progress: Callable[[BatchProgress], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> ManifestResult:
    """Carry out every copy a manifest lists, skipping those a done-log says are done.

    Args:
        conn: The connection the copies run on.
        manifest: The manifest (see the module's documentation for the formats).
        fmt: ``"csv"``, ``"jsonl"`` or ``"inventory"`` (default: by the file).
        to: For an inventory: the ``s3://bucket/prefix/`` objects are copied below.
        report: Where failures are written (default ``NAME.failed.csv`` or
            ``NAME.failed.jsonl`` beside the manifest); removed when nothing failed.
        done_log: The done-log (default ``MANIFEST.done`` beside the manifest).
        max_workers: Concurrent transfers (on each worker, on a cluster).
        executor: Run on this executor (a dask client's ``get_executor()``: rows then
            travel in groups).
        group_size: Rows a task carries on a cluster (default 500).
        on_progress: Called with a :class:`~s3po.BatchProgress` over the whole manifest
            as rows finish: ``submitted`` is every row, ``done`` counts the rows skipped
            as done before too.
        on_outcome: Called with each row's :class:`~s3po.Outcome` (its ``job.tag`` is the
            :class:`Entry`), in the calling thread.

    Returns:
        What was done; the failures are in ``result.report``.

    Raises:
        ConfigError: An unknown format, or a done-log of another manifest.

    .. versionadded:: 0.4.0
    """
    started = time.monotonic()
    path = Path(manifest)
    fmt = fmt or manifest_format(path)
    entries = sum(1 for _ in read_manifest(path, fmt=fmt, to=to))
    fingerprint = _fingerprint(path)
    log_path = Path(done_log) if done_log is not None else path.with_name(f"{path.name}.done")
    done = _load_done(log_path, fingerprint, entries)
    done_before = int.from_bytes(done, "little").bit_count()
    failures = _Report(Path(report) if report is not None else default_report(path), fmt)
    counts = {"skipped": 0, "copied": 0, "failed": 0, "bytes": 0}
    log = _DoneLog(log_path, fingerprint)

    def jobs() -> Iterator[Job]:
        for entry in read_manifest(path, fmt=fmt, to=to):
            if done[entry.index >> 3] & (1 << (entry.index & 7)):
                counts["skipped"] += 1
                continue
            try:
                yield entry_job(entry)
            except ConfigError as exc:
                counts["failed"] += 1
                failures.add(entry, str(exc))

    def progress(snapshot: BatchProgress) -> None:
        if on_progress is not None:
            whole = dataclasses.replace(
                snapshot, done=snapshot.done + done_before, submitted=entries
            )
            on_progress(whole)

    try:
        with conn.batch(
            max_workers, executor=executor, on_progress=progress, group_size=group_size
        ) as batch:
            for outcome in batch.stream(jobs(), values=False):
                entry: Entry = outcome.job.tag
                if outcome.error is None:
                    counts["copied"] += 1
                    counts["bytes"] += outcome.size
                    log.add(entry.index)
                else:
                    counts["failed"] += 1
                    failures.add(entry, outcome.error)
                if on_outcome is not None:
                    on_outcome(outcome)
    finally:
        log.close()
        written = failures.close()
    return ManifestResult(
        entries=entries,
        skipped=counts["skipped"],
        copied=counts["copied"],
        failed=counts["failed"],
        bytes=counts["bytes"],
        seconds=time.monotonic() - started,
        report=written,
        done_log=log_path,
    )
