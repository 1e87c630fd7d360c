"""Manifests: every direction of copy, failure reports fed back, resume from the done-log."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import s3po
from s3po.manifest import copy_manifest, read_manifest


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    for i in range(5):
        (folder / f"f{i}.txt").write_text(f"file {i}")
    return folder


def _write_csv(path: Path, rows: list[list[str]], *, header: bool = True) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        if header:
            writer.writerow(["source", "destination"])
        writer.writerows(rows)
    return path


def test_every_direction_and_a_report_that_feeds_back(
    conn: s3po.Connection, files: Path, tmp_path: Path
) -> None:
    conn.upload_string("bucket", "there.txt", "remote")
    manifest = _write_csv(
        tmp_path / "copies.csv",
        [
            [str(files / "f0.txt"), "s3://bucket/up/f0.txt"],
            [str(files / "f1.txt"), "s3://bucket/up/"],  # into a prefix: keeps the name
            ["s3://bucket/there.txt", str(tmp_path / "down" / "there.txt")],
            ["s3://bucket/there.txt", "s3://bucket/copied.txt"],
            [str(files / "late.txt"), "s3://bucket/up/late.txt"],  # not there yet
            ["only-one-column"],
        ],
    )
    result = copy_manifest(conn, manifest, max_workers=3)
    assert (result.entries, result.copied, result.failed, result.skipped) == (6, 4, 2, 0)
    assert conn.download_string("bucket", "up/f1.txt") == "file 1"
    assert (tmp_path / "down" / "there.txt").read_text() == "remote"
    assert conn.download_string("bucket", "copied.txt") == "remote"
    assert result.report == tmp_path / "copies.failed.csv"
    with result.report.open(newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["source", "destination", "error"]
    assert sorted(r[:2] for r in rows[1:]) == sorted(
        [[str(files / "late.txt"), "s3://bucket/up/late.txt"], ["only-one-column", ""]]
    )
    assert any("does not exist" in r[2] for r in rows[1:])
    assert any("line 7" in r[2] for r in rows[1:])

    # the report is a manifest: fix the cause, give it back, and the row is copied
    (files / "late.txt").write_text("now here")
    again = copy_manifest(conn, result.report)
    assert (again.copied, again.failed) == (1, 1)  # the broken row stays broken
    assert conn.download_string("bucket", "up/late.txt") == "now here"


def test_a_rerun_skips_what_the_done_log_holds(
    conn: s3po.Connection, files: Path, tmp_path: Path
) -> None:
    rows = [[str(files / f"f{i}.txt"), f"s3://bucket/r/{i}"] for i in range(5)]
    manifest = _write_csv(tmp_path / "m.csv", rows)
    first = copy_manifest(conn, manifest)
    assert first.copied == 5
    assert first.report is None
    conn.delete("bucket", "r/3")  # a rerun does not look at the destination
    progress: list[s3po.BatchProgress] = []
    second = copy_manifest(conn, manifest, on_progress=progress.append)
    assert (second.skipped, second.copied, second.failed) == (5, 0, 0)
    assert not conn.exists("bucket", "r/3")
    assert first.done_log == tmp_path / "m.csv.done"


def test_an_interrupted_run_resumes_where_it_stopped(
    conn: s3po.Connection, files: Path, tmp_path: Path
) -> None:
    rows = [[str(files / f"f{i % 5}.txt"), f"s3://bucket/i/{i:02d}"] for i in range(40)]
    manifest = _write_csv(tmp_path / "m.csv", rows)
    seen = 0

    def stop_after_ten(_outcome: s3po.Outcome) -> None:
        nonlocal seen
        seen += 1
        if seen == 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copy_manifest(conn, manifest, max_workers=2, on_outcome=stop_after_ten)
    logged = (tmp_path / "m.csv.done").read_text().split("\n")[1:-1]
    assert len(logged) == 10
    progress: list[s3po.BatchProgress] = []
    rest = copy_manifest(conn, manifest, on_progress=progress.append)
    assert rest.skipped == 10
    assert rest.copied == 30
    assert len(conn.list_names("bucket", "i/")) == 40
    # progress counts the whole manifest, the rows done before included
    assert (progress[-1].done, progress[-1].submitted) == (40, 40)


def test_a_done_log_of_other_content_is_refused(
    conn: s3po.Connection, files: Path, tmp_path: Path
) -> None:
    manifest = _write_csv(tmp_path / "m.csv", [[str(files / "f0.txt"), "s3://bucket/a"]])
    copy_manifest(conn, manifest)
    _write_csv(manifest, [[str(files / "f1.txt"), "s3://bucket/b"]])
    with pytest.raises(s3po.ConfigError, match="other manifest content"):
        copy_manifest(conn, manifest)
    assert not conn.exists("bucket", "b")


def test_json_lines_and_a_json_lines_report(
    conn: s3po.Connection, files: Path, tmp_path: Path
) -> None:
    manifest = tmp_path / "m.jsonl"
    lines = [
        {"source": str(files / "f2.txt"), "destination": "s3://bucket/j/2", "size": 6},
        {"source": "s3://bucket/absent", "destination": str(tmp_path / "x")},
    ]
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines) + "\n{broken\n")
    result = copy_manifest(conn, manifest)
    assert (result.copied, result.failed) == (1, 2)
    assert result.report == tmp_path / "m.failed.jsonl"
    records = [json.loads(t) for t in result.report.read_text().splitlines()]
    errors = {r["source"]: r["error"] for r in records}
    assert errors["s3://bucket/absent"].startswith("NoSuchKey")
    assert next(e for s, e in errors.items() if s.startswith("{broken")).startswith("line 4")
    assert next(entry.source for entry in read_manifest(result.report)) in errors


def test_an_inventory_csv_is_copied_below_a_prefix(conn: s3po.Connection, tmp_path: Path) -> None:
    conn.upload_string("bucket", "dir/a b.txt", "spaced")
    conn.upload_string("bucket", "dir/plain", "plain")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text('"bucket","dir/a+b.txt","6"\n"bucket","dir/plain","5"\n')
    result = copy_manifest(conn, inventory, fmt="inventory", to="s3://bucket/backup/")
    assert result.copied == 2
    assert conn.download_string("bucket", "backup/dir/a b.txt") == "spaced"
    with pytest.raises(s3po.ConfigError, match="destination prefix"):
        list(read_manifest(inventory, fmt="inventory"))


def test_an_inventory_parquet_is_copied_below_a_prefix(
    conn: s3po.Connection, tmp_path: Path
) -> None:
    """Parquet inventories keep keys as they are (no URL-encoding, unlike the CSV ones)."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    conn.upload_string("bucket", "dir/a+b c.txt", "plus and space")
    conn.upload_string("bucket", "dir/plain", "plain")
    inventory = tmp_path / "inventory.parquet"
    table = pa.table(
        {"bucket": ["bucket", "bucket"], "key": ["dir/a+b c.txt", "dir/plain"], "size": [14, 5]}
    )
    pq.write_table(table, inventory, row_group_size=1)  # two record batches
    result = copy_manifest(conn, inventory, fmt="inventory", to="s3://bucket/backup/")
    assert (result.copied, result.failed) == (2, 0)
    assert conn.download_string("bucket", "backup/dir/a+b c.txt") == "plus and space"
    assert conn.download_string("bucket", "backup/dir/plain") == "plain"
    assert copy_manifest(conn, inventory, fmt="inventory", to="s3://bucket/backup/").skipped == 2
    pq.write_table(pa.table({"name": ["x"]}), tmp_path / "other.parquet")
    with pytest.raises(s3po.ConfigError, match="no bucket or key column"):
        list(read_manifest(tmp_path / "other.parquet", fmt="inventory", to="s3://bucket/b/"))
