"""``s3po cp --from-manifest``: failures reported and fed back, reruns resume, --dask."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import s3po


def test_a_failed_row_is_reported_and_fed_back(cli: Any, tmp_path: Path, store: Path) -> None:
    (tmp_path / "a.txt").write_text("alpha")
    manifest = tmp_path / "copies.csv"
    manifest.write_text("source,destination\na.txt,s3://bkt/a.txt\nb.txt,s3://bkt/b.txt\n")
    first = cli("cp", "--from-manifest", "copies.csv", check=1)
    err = first.stderr.decode()
    assert "copy: b.txt to s3://bkt/b.txt failed" in err
    assert "1 copied, 0 skipped (done before), 1 failed of 2" in err
    report = tmp_path / "copies.failed.csv"
    assert str(report.name) in err
    assert b"copy: a.txt to s3://bkt/a.txt" in first.stdout

    (tmp_path / "b.txt").write_text("bravo")
    cli("cp", "--from-manifest", str(report), check=0)
    # the original manifest resumes: a.txt is in its done-log, b.txt not
    rerun = cli("cp", "--from-manifest", "copies.csv", check=0)
    assert b"1 copied, 1 skipped (done before), 0 failed of 2" in rerun.stdout
    assert not report.exists()
    with s3po.Connection(backend="local", root=store) as conn:
        assert conn.download_string("bkt", "b.txt") == "bravo"


def test_manifest_and_positional_arguments_do_not_mix(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("a,s3://bkt/a\n")
    result = cli("cp", "--from-manifest", "m.csv", "x", "s3://bkt/x", check=2)
    assert b"takes no SRC or DST" in result.stderr
    assert b"needs SRC and DST" in cli("cp", "only-one", check=2).stderr


def test_from_manifest_on_a_dask_cluster(cli: Any, tmp_path: Path, store: Path) -> None:
    distributed = pytest.importorskip("distributed")
    for i in range(30):
        (tmp_path / f"f{i}").write_text(str(i))
    rows = "".join(f"f{i},s3://bkt/d/{i}\n" for i in range(30))
    (tmp_path / "m.csv").write_text(rows + "missing,s3://bkt/d/missing\n")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        dashboard_address="127.0.0.1:0",
        protocol="tcp://",
        host="127.0.0.1",
        scheduler_port=0,
    ) as cluster:
        # the workers run in this process, in tmp_path's parent: give absolute sources
        (tmp_path / "abs.csv").write_text(
            "".join(
                f"{tmp_path / src},{dst}\n"
                for src, dst in (line.split(",") for line in (rows.splitlines()))
            )
            + f"{tmp_path / 'missing'},s3://bkt/d/missing\n"
        )
        result = cli("cp", "--from-manifest", "abs.csv", "--dask", cluster.scheduler_address)
    assert result.returncode == 1, result.stderr.decode()
    assert b"30 copied, 0 skipped (done before), 1 failed of 31" in result.stderr
    with s3po.Connection(backend="local", root=store) as conn:
        assert len(conn.list_names("bkt", "d/")) == 30
