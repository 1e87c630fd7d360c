"""Compressed transfers SIGKILLed mid-way with resume on: the next run continues them.

- A compressed upload resumes because its encoded stream is reproducible: the codec at the
  same level encodes the file again into the same parts (same MD5s), so the parts the
  store holds are kept and only the missing ones are sent.
- A download of a framed object (seekable gzip or zstd) resumes at the frames on disk: the
  next run fetches the index and only the stored ranges of the frames missing, each pinned
  to the ETag (If-Match).

As in ``test_resume_sigkill.py``, the child blocks (on the local backend) or stalls at the
fault proxy (on S3 servers) once some parts or frames are across, and is SIGKILLed; what the
next run asks for is counted below the stack or at the proxy, the result is byte-identical,
and no upload, journal or partial file is left behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import xxhash
from s3po_codecs.gzip import GzipCodec, SeekableGzipCodec
from s3po_codecs.zstd import SeekableZstdCodec, ZstdCodec
from s3po_local import LocalBackend
from s3po_reliability import (  # type: ignore[import-not-found]
    LOCAL_PART,
    Counting,
    journal_lines,
    left,
    open_uploads,
    run_and_kill,
)

import s3po
from s3po.frames import INDEX_TAIL, Frame, read_index

KIB = 1024
MIB = 1024 * KIB

FRAME = 16 * KIB


def _framed(codec: str, data: bytes) -> bytes:
    """``data`` in the seekable format of ``codec``, in 16 KiB frames."""
    made = (
        SeekableGzipCodec(member_size=FRAME)
        if codec == "gzip"
        else SeekableZstdCodec(threads=0, frame_size=FRAME)
    )
    encoder = made.encoder()
    return encoder.encode(data) + encoder.flush()


def _frames(codec: str, stored: bytes) -> tuple[Frame, ...]:
    reader = GzipCodec() if codec == "gzip" else ZstdCodec(threads=0)
    index = read_index(reader, lambda lo, hi: stored[lo:hi], len(stored))
    assert index is not None
    return index.frames


def _framed_headers(codec: str, data: bytes) -> dict[str, str]:
    """Stored as encoded, with the content checksum s3po would have declared."""
    return {"Content-Encoding": codec, "x-amz-meta-s3po-xxh128": xxhash.xxh3_128_hexdigest(data)}


# -- the local backend ---------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_local_compressed_upload_killed_after_three_parts_resumes_with_the_rest(
    local: tuple[LocalBackend, Counting, s3po.Connection],
    tmp_path: Path,
    cache: Path,
    codec: str,
) -> None:
    store, counting, conn = local
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(6 * LOCAL_PART - 5))  # random: about six encoded parts
    args = {"local": str(store.root), "part": LOCAL_PART, "op": "upload", "block": 4}
    args |= {"bucket": "bucket", "path": str(path), "compress": codec}

    def three_parts() -> bool:
        # An upload being started is listed as cut off until its record is written.
        uploads = [u for u in store.list_multipart("bucket") if u.key == "k"]
        return (
            bool(uploads) and len(list(store.list_parts("bucket", "k", uploads[0].upload_id))) == 3
        )

    run_and_kill(tmp_path, args, three_parts)
    (upload,) = [u for u in store.list_multipart("bucket") if u.key == "k"]

    conn.upload_file("bucket", "k", path, compress=codec)

    # Parts 1 to 3 encoded again to the same bytes (same MD5s): not sent again.
    assert counting.parts[0] == 4
    assert counting.parts == list(range(4, 4 + len(counting.parts)))
    assert conn.head("bucket", "k").headers.content_encoding == codec
    assert conn.download_bytes("bucket", "k") == path.read_bytes()
    assert list(store.list_multipart("bucket")) == []
    assert upload.upload_id  # the child's upload was the one completed
    assert left(cache) == []


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_local_framed_download_killed_after_a_run_of_frames_resumes_at_the_next(
    local: tuple[LocalBackend, Counting, s3po.Connection],
    tmp_path: Path,
    cache: Path,
    codec: str,
) -> None:
    store, counting, conn = local
    data = os.urandom(6 * LOCAL_PART - 5)
    stored = _framed(codec, data)
    frames = _frames(codec, stored)
    conn.upload_string("bucket", "k", stored, compress=None, headers=_framed_headers(codec, data))
    dest = tmp_path / "copy.bin"
    # The opening GET, the index's tail, a run of four frames; the next run blocks.
    args = {"local": str(store.root), "part": LOCAL_PART, "op": "download", "block": 4}
    args |= {"bucket": "bucket", "path": str(dest)}
    run_and_kill(tmp_path, args, lambda: journal_lines(cache) >= 1 + 4)
    assert dest.with_name(".copy.bin.s3po-partial").is_file()
    counting.gets.clear()

    result = conn.download_file("bucket", "k", dest)

    etag = result.info.etag
    opening, tail, *ranges = counting.gets
    assert opening == (0, None, etag)
    assert tail[1] == len(stored)
    assert {pin for _, _, pin in counting.gets} == {etag}
    # Only the frames after the first four, from the fifth frame's stored offset.
    assert ranges[0][0] == frames[4].offset
    fetched = sum((hi or len(stored)) - lo for lo, hi, _ in ranges)
    assert fetched == frames[-1].end - frames[4].offset
    assert dest.read_bytes() == data
    assert list(tmp_path.glob(".copy.bin*")) == []
    assert left(cache) == []


# -- S3 servers, through the fault proxy ---------------------------------------------------

S3_PART = 5 * MIB


@pytest.mark.integration
def test_s3_compressed_upload_killed_after_one_part_resumes_with_the_other(
    s3_server: Any, s3_bucket: str, stalling: Any, tmp_path: Path, cache: Path
) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(S3_PART + 4093))  # random: two encoded parts
    options = {**s3_server.options(), "endpoint_url": stalling.url}
    stalling.inject(
        "stall", operation="UploadPart", match=lambda r: r.params.get("partNumber") == "2"
    )
    args = {"local": None, "part": S3_PART, "op": "upload", "options": options, "block": 0}
    args |= {"bucket": s3_bucket, "path": str(path), "compress": "gzip"}
    admin = s3_server.admin

    def one_part() -> bool:
        if not stalling.faults():
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
        conn.upload_file(s3_bucket, "k", path, compress="gzip")
        assert conn.download_bytes(s3_bucket, "k") == path.read_bytes()

    sent = stalling.requests("UploadPart")[sent_before:]
    assert [r.request.params["partNumber"] for r in sent] == ["2"]
    head = admin.head_object(Bucket=s3_bucket, Key="k")
    assert head["ContentEncoding"] == "gzip"
    assert open_uploads(s3_server, s3_bucket) == []
    assert left(cache) == []


@pytest.mark.integration
def test_s3_framed_download_killed_after_a_run_of_frames_resumes_at_the_next(
    s3_server: Any, s3_bucket: str, stalling: Any, tmp_path: Path, cache: Path
) -> None:
    data = os.urandom(6 * LOCAL_PART - 5)
    stored = _framed("zstd", data)
    frames = _frames("zstd", stored)
    s3_server.admin.put_object(
        Bucket=s3_bucket,
        Key="k",
        Body=stored,
        ContentEncoding="zstd",
        Metadata={"s3po-xxh128": xxhash.xxh3_128_hexdigest(data)},
    )
    options = {**s3_server.options(), "endpoint_url": stalling.url}
    tail_start = max(0, len(stored) - INDEX_TAIL)
    # The first run of frames starts at 0; the next one stalls.
    stalling.inject(
        "stall",
        operation="GetObject",
        match=lambda r: r.range_start not in {None, 0, tail_start},
    )
    dest = tmp_path / "copy.bin"
    # Whole downloads above 64 KiB are fetched in runs of frames (parts must be 5 MiB).
    args: dict[str, Any] = {
        "local": None,
        "part": S3_PART,
        "threshold": LOCAL_PART,
        "op": "download",
    }
    args |= {"options": options, "block": 0, "bucket": s3_bucket, "path": str(dest)}
    run_and_kill(tmp_path, args, lambda: bool(stalling.faults()) and journal_lines(cache) >= 2)
    (stalled,) = stalling.faults()
    second_run = stalled.request.range_start
    on_disk = sum(1 for f in frames if f.offset < second_run)
    assert journal_lines(cache) == 1 + on_disk  # each frame of the first run journaled
    seen = len(stalling.requests("GetObject"))

    chunk = s3po.ChunkConfig(threshold=LOCAL_PART, part_size=S3_PART, max_concurrency=1)
    config = s3po.TransferConfig(chunk=chunk, resume=True)
    with s3po.Connection("s3", config=config, **options) as conn:
        result = conn.download_file(s3_bucket, "k", dest)

    gets = [r.request for r in stalling.requests("GetObject")[seen:]]
    assert all(r.if_match for r in gets)
    assert {r.if_match.strip('"') for r in gets} == {result.info.etag}
    opening, tail, *ranges = gets
    assert opening.range is None
    assert tail.range_start == tail_start
    # Only the frames after those on disk: from the stalled run's offset on.
    assert second_run == frames[on_disk].offset
    assert ranges[0].range_start == second_run
    assert all(r.range_start is not None and r.range_start >= second_run for r in ranges)
    assert dest.read_bytes() == data
    assert list(tmp_path.glob(".copy.bin*")) == []
    assert left(cache) == []
