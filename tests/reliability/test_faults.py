"""Transfers through the fault proxy end byte-identical, with nothing lost or left behind.

Every fault the proxy injects must show up as exactly one retry of the same operation (no
fault goes unnoticed, and nothing that did not fail is retried); every object must read back
byte-identical; and the server must hold exactly the objects written, plus only those
multipart uploads the client could not know about (``orphans_expected``), which
``Connection.cleanup`` then removes.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from s3po_reliability import (  # type: ignore[import-not-found]
    MIB,
    Retries,
    assert_every_fault_retried_once,
    clean,
    connect,
    data,
    faults,
    open_uploads,
    orphans_expected,
    stored_keys,
    text,
)

import s3po

pytestmark = pytest.mark.integration

#: (fault rate, retries after the first attempt, seed). 10 % runs with the default 3
#: retries; at 30 % some operation meets four faults in a row, so it gets 8.
RATES = [
    pytest.param(0.1, 3, 1, id="10%-retries3"),
    pytest.param(0.3, 8, 2, id="30%-retries8"),
]

#: The operations of one multipart upload, one single upload and their downloads.
OPERATIONS: dict[str, Any] = {
    "CreateMultipartUpload": None,
    "UploadPart": lambda r: r.params.get("partNumber") == "1",
    "CompleteMultipartUpload": None,
    "HeadObject": None,
    "PutObject": None,
    "GetObject": lambda r: r.range is None,
    "GetObject (ranged)": lambda r: r.range is not None,
}


def _finish(server: Any, bucket: str, conn: s3po.Connection, proxy: Any, keys: set[str]) -> None:
    """The server holds ``keys`` and the orphans the client could not see; cleanup ends those."""
    assert stored_keys(server, bucket) == keys
    orphans = orphans_expected(proxy)
    assert len(open_uploads(server, bucket)) == orphans
    proxy.configure(faults.FaultPlan())
    assert len(conn.cleanup(bucket, older_than=dt.timedelta(0))) == orphans
    assert open_uploads(server, bucket) == []


@pytest.mark.parametrize("kind", faults.KINDS)
def test_each_fault_kind_once_on_each_operation(
    s3_server: Any, bucket: str, proxy: Any, tmp_path: Path, kind: str
) -> None:
    expected = 0
    for name, match in OPERATIONS.items():
        operation = name.split(" ", 1)[0]
        if faults.applies_to(kind, operation):
            proxy.inject(kind, operation=operation, match=match)
            expected += 1
    events = Retries()
    big, small = data(6 * MIB, 1), data(100 * 1024, 2)
    source = tmp_path / "big.bin"
    source.write_bytes(big)
    with connect(s3_server, proxy, on_retry=events) as conn:
        conn.upload_file(bucket, "big.bin", source, delete=True)
        assert not source.exists()  # removed only after the HEAD confirmed the upload
        conn.upload_fileobj(bucket, "small.bin", io.BytesIO(small))
        assert conn.download_bytes(bucket, "big.bin") == big  # first part + a ranged GET
        assert conn.download_bytes(bucket, "small.bin") == small

        assert len(proxy.faults()) == expected  # every scripted fault fired
        assert_every_fault_retried_once(proxy, events)
        assert clean(proxy, "UploadPart") == 2
        assert clean(proxy, "PutObject") == 1
        _finish(s3_server, bucket, conn, proxy, {"big.bin", "small.bin"})


def _upload_all(conn: s3po.Connection, bucket: str, tmp_path: Path) -> dict[str, bytes]:
    """Single, multipart, file (delete=True) and compressed uploads; returns key -> bytes."""
    objects = {
        "single/empty": b"",
        "single/one": b"x",
        "single/300k.bin": data(300 * 1024, 1),
        "multi/11m.bin": data(11 * MIB, 2),
    }
    for key, body in objects.items():
        conn.upload_fileobj(bucket, key, io.BytesIO(body))
    objects["single/text.txt"] = text(10_000, 3)
    conn.upload_string(bucket, "single/text.txt", objects["single/text.txt"].decode())
    source = tmp_path / "six.bin"
    objects["multi/file.bin"] = data(6 * MIB, 4)
    source.write_bytes(objects["multi/file.bin"])
    conn.upload_file(bucket, "multi/file.bin", source, delete=True)
    assert not source.exists()
    for key, body, codec in [
        ("gzip/text.txt", text(8 * MIB, 5), "gzip"),  # compresses into a single PUT
        ("zstd/7m.bin", data(7 * MIB, 6), "zstd"),  # stays above 5 MiB: multipart
    ]:
        objects[key] = body
        conn.upload_fileobj(bucket, key, io.BytesIO(body), compress=codec)
    return objects


@pytest.mark.parametrize(("rate", "retries", "seed"), RATES)
def test_uploads_and_downloads_survive_random_faults(
    s3_server: Any,
    bucket: str,
    proxy: Any,
    tmp_path: Path,
    rate: float,
    retries: int,
    seed: int,
) -> None:
    proxy.configure(faults.FaultPlan(seed=seed, rate=rate))
    events = Retries()
    with connect(s3_server, proxy, retries=retries, on_retry=events) as conn:
        objects = _upload_all(conn, bucket, tmp_path)
        for key, body in objects.items():
            assert conn.download_bytes(bucket, key) == body, key
        target = tmp_path / "down" / "11m.bin"
        conn.download_file(bucket, "multi/11m.bin", target)  # parallel ranged GETs
        assert target.read_bytes() == objects["multi/11m.bin"]
        assert list(target.parent.iterdir()) == [target]  # no temporary file left

        assert_every_fault_retried_once(proxy, events)
        # What the server did once per object: no more, no less.
        assert clean(proxy, "PutObject") == 5
        assert clean(proxy, "CreateMultipartUpload") == 3
        assert clean(proxy, "UploadPart") == 3 + 2 + 2
        completes = [r for r in proxy.requests("CompleteMultipartUpload") if r.fault is None]
        assert len(completes) == 3  # a 200, or NoSuchUpload once a lost answer had completed it
        ranged = [r for r in proxy.requests("GetObject") if r.request.range]
        assert ranged
        assert all(r.request.if_match for r in ranged)  # every ranged GET is pinned to the ETag
        _finish(s3_server, bucket, conn, proxy, set(objects))


@pytest.mark.parametrize(("rate", "retries", "seed"), RATES)
def test_batch_of_50_survives_random_faults(
    s3_server: Any, bucket: str, proxy: Any, rate: float, retries: int, seed: int
) -> None:
    codecs = [None, "gzip", "zstd"]
    objects = {f"batch/{i:03d}-é.bin": data(i * 997 % 70_000, i) for i in range(47)}
    objects.update(
        {f"batch/multi-{i}.bin": data(5 * MIB + 1 + i * 4099, 100 + i) for i in range(3)}
    )
    proxy.configure(faults.FaultPlan(seed=seed, rate=rate))
    events = Retries()
    with connect(s3_server, proxy, retries=retries, on_retry=events) as conn:
        with conn.batch(8) as batch:
            for i, (key, body) in enumerate(objects.items()):
                codec = codecs[i % 3] if len(body) < MIB else None
                batch.upload_fileobj(bucket, key, io.BytesIO(body), compress=codec)
        with conn.batch(8) as batch:
            handles = {key: batch.download_bytes(bucket, key) for key in objects}
        for key, handle in handles.items():
            assert handle.result() == objects[key], key
        assert_every_fault_retried_once(proxy, events)
        assert clean(proxy, "UploadPart") == 3 * 2
        assert clean(proxy, "PutObject") == 47
        _finish(s3_server, bucket, conn, proxy, set(objects))
