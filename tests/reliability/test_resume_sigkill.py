"""A process SIGKILLed mid-transfer with resume on: the next run continues where it stopped.

The child uploads (or downloads) with ``resume=True`` and parts sent one at a time. On the
local backend the store holds three parts (the file three ranges) when the fourth request
blocks; on S3 servers (5 MiB parts, so two to keep it quick) one part is stored when the
second request stalls at the fault proxy; then the child is killed. Run again, the transfer
sends only the missing parts (counted at the proxy, or by the store below the stack), the
result is byte-identical, and nothing is left behind: no open upload, no journal, no
partial file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from s3po_local import LocalBackend
from s3po_reliability import (  # type: ignore[import-not-found]
    LOCAL_PART,
    Counting,
    journal_lines,
    open_uploads,
    run_and_kill,
)

import s3po
from s3po.backend import checksums

KIB = 1024
MIB = 1024 * KIB

# -- the local backend ---------------------------------------------------------------------


def test_local_upload_killed_after_three_parts_resumes_with_the_rest(
    local: tuple[LocalBackend, Counting, s3po.Connection], tmp_path: Path, cache: Path
) -> None:
    store, counting, conn = local
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(6 * LOCAL_PART - 5))
    args = {"local": str(store.root), "part": LOCAL_PART, "op": "upload"}
    args |= {"bucket": "bucket", "key": "k", "path": str(path)}

    def three_parts() -> bool:
        # An upload being started is listed as cut off until its record is written.
        uploads = [u for u in store.list_multipart("bucket") if u.key == "k"]
        return (
            bool(uploads) and len(list(store.list_parts("bucket", "k", uploads[0].upload_id))) == 3
        )

    run_and_kill(tmp_path, args, three_parts)
    (upload,) = [u for u in store.list_multipart("bucket") if u.key == "k"]
    before = list(store.list_parts("bucket", "k", upload.upload_id))

    conn.upload_file("bucket", "k", path)

    assert counting.parts == [4, 5, 6]
    assert conn.download_bytes("bucket", "k") == path.read_bytes()
    assert list(store.list_multipart("bucket")) == []
    assert [p.part_number for p in before] == [1, 2, 3]
    assert journal_lines(cache) == 0


def test_local_download_killed_after_three_ranges_resumes_with_the_rest(
    local: tuple[LocalBackend, Counting, s3po.Connection], tmp_path: Path, cache: Path
) -> None:
    store, counting, conn = local
    data = os.urandom(6 * LOCAL_PART - 5)
    conn.upload_string("bucket", "k", data)
    dest = tmp_path / "copy.bin"
    args = {"local": str(store.root), "part": LOCAL_PART, "op": "download"}
    args |= {"bucket": "bucket", "key": "k", "path": str(dest)}
    # The journal's header and three ranges (the opening GET's, then two more).
    run_and_kill(tmp_path, args, lambda: journal_lines(cache) >= 4)
    assert dest.with_name(".copy.bin.s3po-partial").is_file()
    counting.gets.clear()

    result = conn.download_file("bucket", "k", dest)

    etag = result.info.etag
    starts = [start for start, _, _ in counting.gets]
    assert starts == [0, 3 * LOCAL_PART, 4 * LOCAL_PART, 5 * LOCAL_PART]
    assert {pin for _, _, pin in counting.gets} == {etag}
    assert dest.read_bytes() == data
    assert list(tmp_path.glob(".copy.bin*")) == []
    assert journal_lines(cache) == 0


# -- S3 servers, through the fault proxy ---------------------------------------------------

S3_PART = 5 * MIB


@pytest.mark.integration
@pytest.mark.parametrize(
    ("algorithm", "checksum_type"),
    # the full-object one combines the kept part's journaled checksum with the new one's
    [(None, None), ("crc64nvme", None)],
    ids=["default", "crc64nvme-full"],
)
def test_s3_upload_killed_after_one_part_resumes_with_the_other(
    s3_server: Any,
    s3_bucket: str,
    stalling: Any,
    tmp_path: Path,
    cache: Path,
    algorithm: str | None,
    checksum_type: str | None,
) -> None:
    """With every wire checksum: the part kept from the first run is completed with its own."""
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(S3_PART + 4093))  # two parts: the least S3 allows
    options = {**s3_server.options(), "endpoint_url": stalling.url}
    if algorithm is not None:
        options |= {"checksum_algorithm": algorithm, "checksum_type": checksum_type}
    stalling.inject(
        "stall", operation="UploadPart", match=lambda r: r.params.get("partNumber") == "2"
    )
    args = {"local": None, "part": S3_PART, "op": "upload", "options": options}
    args |= {"bucket": s3_bucket, "key": "k", "path": str(path)}
    admin = s3_server.admin

    def one_part() -> bool:
        if not stalling.faults():  # part 2 reached the proxy and stalls there
            return False
        uploads = open_uploads(s3_server, s3_bucket)
        if not uploads:
            return False
        listed = admin.list_parts(Bucket=s3_bucket, Key="k", UploadId=uploads[0]["UploadId"])
        return len(listed.get("Parts", [])) == 1

    run_and_kill(tmp_path, args, one_part)
    sent_before = len(stalling.requests("UploadPart"))

    chunk = s3po.ChunkConfig(threshold=S3_PART, part_size=S3_PART, max_concurrency=1)
    config = s3po.TransferConfig(chunk=chunk, resume=True)
    with s3po.Connection("s3", config=config, **options) as conn:
        conn.upload_file(s3_bucket, "k", path)

    sent = stalling.requests("UploadPart")[sent_before:]
    assert [r.request.params["partNumber"] for r in sent] == ["2"]
    body = admin.get_object(Bucket=s3_bucket, Key="k")["Body"]
    try:
        assert body.read() == path.read_bytes()
    finally:
        body.close()
    assert open_uploads(s3_server, s3_bucket) == []
    assert journal_lines(cache) == 0
    full = algorithm == "crc64nvme" or checksum_type == "full_object"
    if algorithm is not None and full:
        algo = checksums.crc(algorithm)
        head = admin.head_object(Bucket=s3_bucket, Key="k", ChecksumMode="ENABLED")
        assert head[algo.field] == algo.encode(algo.of(path.read_bytes()))


@pytest.mark.integration
def test_s3_download_killed_after_one_range_resumes_with_the_other(
    s3_server: Any, s3_bucket: str, stalling: Any, tmp_path: Path, cache: Path
) -> None:
    part = S3_PART
    data = os.urandom(part + 4093)  # two ranges
    s3_server.admin.put_object(Bucket=s3_bucket, Key="k", Body=data)
    options = {**s3_server.options(), "endpoint_url": stalling.url}
    stalling.inject("stall", operation="GetObject", match=lambda r: r.range_start == part)
    dest = tmp_path / "copy.bin"
    args = {"local": None, "part": part, "op": "download", "options": options}
    args |= {"bucket": s3_bucket, "key": "k", "path": str(dest)}
    # The header and the first range journaled, and the second range stalled at the proxy.
    run_and_kill(tmp_path, args, lambda: bool(stalling.faults()) and journal_lines(cache) >= 2)
    seen = len(stalling.requests("GetObject"))

    chunk = s3po.ChunkConfig(threshold=part, part_size=part, max_concurrency=1)
    config = s3po.TransferConfig(chunk=chunk, resume=True)
    with s3po.Connection("s3", config=config, **options) as conn:
        result = conn.download_file(s3_bucket, "k", dest)

    gets = [r.request for r in stalling.requests("GetObject")[seen:]]
    starts = [r.range_start or 0 for r in gets]
    # The opening GET (its first range is on disk), then only the second range (a body the
    # server cut is resumed from its offset, so there may be more than one request for it).
    assert starts[0] == 0
    assert starts[1] == part
    assert all(start > part for start in starts[2:])
    assert {r.if_match.strip('"') for r in gets if r.if_match} == {result.info.etag}
    assert all(r.if_match for r in gets)
    assert dest.read_bytes() == data
    assert list(tmp_path.glob(".copy.bin*")) == []
    assert journal_lines(cache) == 0
