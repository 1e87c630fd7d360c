"""Resumable uploads through the whole stack over the small-part local store.

An upload is interrupted after some parts were stored (a transient failure with no retries
left, or Ctrl-C in a part); run again with resume on, it continues the same upload and sends
only the parts the store does not hold, or starts over when it cannot continue.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from s3po_local import LocalBackend

import s3po
from s3po.backend import checksums
from s3po.resume import journal_dir

from .conftest import PART

SIZE = 5 * PART + 123  # six parts, the last one short


class Parts(s3po.ForwardingBackend):
    """Counts UploadPart requests below the stack, and fails the nth one if told to."""

    def __init__(self, inner: s3po.Backend) -> None:
        super().__init__(inner)
        self.sent: list[int] = []
        self.fail_at: int | None = None
        self.fail_with: type[BaseException] = s3po.TransientError

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: s3po.PartBody
    ) -> s3po.PartInfo:
        if self.fail_at is not None and len(self.sent) + 1 >= self.fail_at:
            raise self.fail_with("cut off (test)")
        info = self.inner.put_part(bucket, key, upload_id, part_number, data)
        self.sent.append(part_number)
        return info


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Journals under this test's folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return journal_dir()


@pytest.fixture
def parts(store: LocalBackend) -> Parts:
    return Parts(store)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


@pytest.fixture
def resumable(
    make_conn: Callable[..., s3po.Connection], parts: Parts, small_config: s3po.TransferConfig
) -> s3po.Connection:
    """Serial parts (so "after three parts" means parts 1-3) and no retries."""
    config = small_config.evolve(resume=True, retries=0, max_concurrency=1)
    return make_conn(parts, config)


def _interrupt(conn: s3po.Connection, parts: Parts, source: Path, at: int) -> None:
    parts.fail_at = at
    with pytest.raises((s3po.TransferError, KeyboardInterrupt)):
        conn.upload_file("bucket", "k", source)
    parts.fail_at = None


def test_resumed_upload_sends_only_the_missing_parts(
    resumable: s3po.Connection,
    parts: Parts,
    source: Path,
    store: LocalBackend,
    cache: Path,
    assert_clean: Callable[..., None],
) -> None:
    _interrupt(resumable, parts, source, at=4)
    assert parts.sent == [1, 2, 3]
    assert len(list(store.list_multipart("bucket"))) == 1  # kept, not aborted
    assert len(list(cache.iterdir())) == 1
    parts.sent.clear()

    result = resumable.upload_file("bucket", "k", source)

    assert parts.sent == [4, 5, 6]
    assert result.size == SIZE
    assert resumable.download_bytes("bucket", "k") == source.read_bytes()
    assert_clean()
    assert list(cache.iterdir()) == []


def test_ctrl_c_keeps_the_upload_with_resume_on(
    resumable: s3po.Connection, parts: Parts, source: Path, store: LocalBackend
) -> None:
    parts.fail_with = KeyboardInterrupt
    _interrupt(resumable, parts, source, at=3)
    assert len(list(store.list_multipart("bucket"))) == 1
    parts.sent.clear()
    resumable.upload_file("bucket", "k", source)
    assert parts.sent == [3, 4, 5, 6]


def test_without_resume_an_interruption_aborts_as_before(
    make_conn: Callable[..., s3po.Connection],
    parts: Parts,
    source: Path,
    small_config: s3po.TransferConfig,
    cache: Path,
    assert_clean: Callable[..., None],
) -> None:
    conn = make_conn(parts, small_config.evolve(retries=0, max_concurrency=1))
    _interrupt(conn, parts, source, at=3)
    assert_clean("k")
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_changed_file_aborts_the_stale_upload_and_starts_over(
    resumable: s3po.Connection,
    parts: Parts,
    source: Path,
    caplog: pytest.LogCaptureFixture,
    assert_clean: Callable[..., None],
) -> None:
    _interrupt(resumable, parts, source, at=3)
    new = os.urandom(SIZE)
    source.write_bytes(new)
    parts.sent.clear()
    with caplog.at_level(logging.INFO, logger="s3po.resume"):
        resumable.upload_file("bucket", "k", source)
    assert parts.sent == [1, 2, 3, 4, 5, 6]
    assert "the file changed" in caplog.text
    assert resumable.download_bytes("bucket", "k") == new
    assert_clean()


def test_a_part_that_differs_on_the_store_is_sent_again(
    resumable: s3po.Connection, parts: Parts, source: Path, store: LocalBackend
) -> None:
    _interrupt(resumable, parts, source, at=4)
    (upload,) = store.list_multipart("bucket")
    store.put_part("bucket", "k", upload.upload_id, 2, os.urandom(PART))  # someone else's bytes
    parts.sent.clear()
    resumable.upload_file("bucket", "k", source)
    assert parts.sent == [2, 4, 5, 6]
    assert resumable.download_bytes("bucket", "k") == source.read_bytes()


def test_an_upload_gone_from_the_store_starts_over(
    resumable: s3po.Connection, parts: Parts, source: Path, store: LocalBackend
) -> None:
    _interrupt(resumable, parts, source, at=4)
    (upload,) = store.list_multipart("bucket")
    store.abort_multipart("bucket", "k", upload.upload_id)
    parts.sent.clear()
    resumable.upload_file("bucket", "k", source)
    assert parts.sent == [1, 2, 3, 4, 5, 6]
    assert resumable.download_bytes("bucket", "k") == source.read_bytes()


def test_a_compressed_upload_resumes_when_its_stream_is_reproducible(
    make_conn: Callable[..., s3po.Connection],
    parts: Parts,
    small_config: s3po.TransferConfig,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Random bytes do not compress, so the encoded stream has about six parts too.
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(SIZE))
    config = small_config.evolve(resume=True, retries=0, max_concurrency=1, compress="gzip")
    conn = make_conn(parts, config)
    _interrupt(conn, parts, path, at=3)
    parts.sent.clear()
    conn.upload_file("bucket", "k", path)
    assert parts.sent[0] == 3  # parts 1 and 2 encoded again to the same bytes: not sent
    assert conn.download_bytes("bucket", "k") == path.read_bytes()

    # Another level is another stream: said why, and started over.
    _interrupt(conn, parts, path, at=len(parts.sent) + 2)
    other = make_conn(parts, config.evolve(compress_level=1))
    parts.sent.clear()
    with caplog.at_level(logging.INFO, logger="s3po.resume"):
        other.upload_file("bucket", "k", path)
    assert parts.sent[0] == 1
    assert "only with the same codec and level" in caplog.text
    assert other.download_bytes("bucket", "k") == path.read_bytes()
    assert list(parts.inner.list_multipart("bucket")) == []


class Gets(s3po.ForwardingBackend):
    """Records the ranges GET asks for below the stack, and fails the nth one if told to."""

    def __init__(self, inner: s3po.Backend) -> None:
        super().__init__(inner)
        self.asked: list[tuple[int, str | None]] = []
        self.fail_at: int | None = None

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> s3po.GetResult:
        if self.fail_at is not None and len(self.asked) + 1 >= self.fail_at:
            raise s3po.TransientError("cut off (test)")
        self.asked.append((start, if_match))
        return self.inner.get(bucket, key, start=start, end=end, if_match=if_match)


@pytest.fixture
def gets(store: LocalBackend) -> Gets:
    return Gets(store)


@pytest.fixture
def stored(source: Path, pconn: s3po.Connection) -> bytes:
    pconn.upload_file("bucket", "k", source)
    return source.read_bytes()


def _interrupt_download(conn: s3po.Connection, gets: Gets, dest: Path, at: int) -> None:
    gets.fail_at = at
    with pytest.raises(s3po.TransferError):
        conn.download_file("bucket", "k", dest)
    gets.fail_at = None


@pytest.fixture
def downloader(
    make_conn: Callable[..., s3po.Connection], gets: Gets, small_config: s3po.TransferConfig
) -> s3po.Connection:
    return make_conn(gets, small_config.evolve(resume=True, retries=0, max_concurrency=1))


def test_resumed_download_fetches_only_the_missing_ranges(
    downloader: s3po.Connection, gets: Gets, stored: bytes, tmp_path: Path, cache: Path
) -> None:
    dest = tmp_path / "out" / "big.bin"
    _interrupt_download(downloader, gets, dest, at=4)  # the opening GET and two ranges done
    assert not dest.exists()
    partial = dest.with_name(".big.bin.s3po-partial")
    assert partial.is_file()
    assert len(list(cache.iterdir())) == 1
    gets.asked.clear()

    result = downloader.download_file("bucket", "k", dest)

    etag = result.info.etag
    # The opening GET is pinned to the journaled ETag; parts 1-3 are not fetched again.
    assert gets.asked == [(0, etag), (3 * PART, etag), (4 * PART, etag), (5 * PART, etag)]
    assert dest.read_bytes() == stored
    assert not partial.exists()
    assert list(cache.iterdir()) == []


def test_a_download_of_a_changed_object_starts_afresh(
    downloader: s3po.Connection,
    gets: Gets,
    stored: bytes,
    tmp_path: Path,
    pconn: s3po.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dest = tmp_path / "copy.bin"
    _interrupt_download(downloader, gets, dest, at=4)
    new = os.urandom(len(stored))
    pconn.upload_string("bucket", "k", new)
    gets.asked.clear()
    with caplog.at_level(logging.INFO, logger="s3po.resume"):
        downloader.download_file("bucket", "k", dest)
    assert "changed since its download was interrupted" in caplog.text
    assert len(gets.asked) == 7  # the refused pinned GET, the opening GET, five ranges
    assert dest.read_bytes() == new
    assert not dest.with_name(".copy.bin.s3po-partial").exists()


def test_without_resume_a_failed_download_leaves_nothing(
    make_conn: Callable[..., s3po.Connection],
    gets: Gets,
    stored: bytes,  # noqa: ARG001 - the object
    small_config: s3po.TransferConfig,
    tmp_path: Path,
) -> None:
    conn = make_conn(gets, small_config.evolve(retries=0, max_concurrency=1))
    dest = tmp_path / "copy.bin"
    _interrupt_download(conn, gets, dest, at=4)
    assert list(tmp_path.glob(".copy.bin*")) == []
    assert not dest.exists()


def test_a_damaged_partial_file_is_caught_by_the_content_checksum(
    downloader: s3po.Connection, gets: Gets, stored: bytes, tmp_path: Path, cache: Path
) -> None:
    dest = tmp_path / "copy.bin"
    _interrupt_download(downloader, gets, dest, at=4)
    partial = dest.with_name(".copy.bin.s3po-partial")
    with partial.open("r+b") as f:
        f.seek(PART + 7)
        f.write(bytes([stored[PART + 7] ^ 0xFF]))
    with pytest.raises(s3po.CorruptData):
        downloader.download_file("bucket", "k", dest)
    assert not dest.exists()
    assert not partial.exists()
    assert list(cache.iterdir()) == []
    downloader.download_file("bucket", "k", dest)  # and the next run starts afresh
    assert dest.read_bytes() == stored


class Cancelling(Parts):
    """Cancels the batch once the third part is stored."""

    batch: s3po.Batch | None = None

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: s3po.PartBody
    ) -> s3po.PartInfo:
        info = super().put_part(bucket, key, upload_id, part_number, data)
        if len(self.sent) == 3 and self.batch is not None:
            self.batch.cancel()
        return info


@pytest.mark.parametrize("resume", [True, False])
def test_batch_cancellation_keeps_the_upload_only_with_resume_on(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    small_config: s3po.TransferConfig,
    source: Path,
    cache: Path,
    resume: bool,
) -> None:
    cancelling = Cancelling(store)
    conn = make_conn(cancelling, small_config.evolve(resume=resume, max_concurrency=1))
    batch = conn.batch(max_workers=1)
    cancelling.batch = batch
    with pytest.raises(s3po.BatchError) as caught, batch:
        batch.upload_file("bucket", "k", source)
    assert caught.group_contains(s3po.Cancelled)
    kept = list(store.list_multipart("bucket"))
    if resume:
        assert len(kept) == 1
        assert len(list(cache.iterdir())) == 1
        cancelling.sent.clear()
        conn.upload_file("bucket", "k", source)
        assert cancelling.sent == [4, 5, 6]
    else:
        assert kept == []
        assert not cache.exists() or list(cache.iterdir()) == []


class CancelInLastPart(Parts):
    """Cancels the batch while the last part is being stored (every part already queued)."""

    batch: s3po.Batch | None = None
    last = 6

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: s3po.PartBody
    ) -> s3po.PartInfo:
        if part_number == self.last and self.batch is not None:
            self.batch.cancel()
        return super().put_part(bucket, key, upload_id, part_number, data)


@pytest.mark.parametrize("resume", [True, False])
def test_a_batch_cancelled_during_the_last_part_does_not_complete_the_upload(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    small_config: s3po.TransferConfig,
    source: Path,
    cache: Path,
    resume: bool,
) -> None:
    cancelling = CancelInLastPart(store)
    # Every part in flight at once, so no part is left to start when the batch is cancelled.
    conn = make_conn(cancelling, small_config.evolve(resume=resume, max_concurrency=8))
    batch = conn.batch(max_workers=1)
    cancelling.batch = batch
    with pytest.raises(s3po.BatchError) as caught, batch:
        batch.upload_file("bucket", "k", source)
    assert caught.group_contains(s3po.Cancelled)
    with pytest.raises(s3po.NoSuchKey):
        store.head("bucket", "k")  # not committed
    kept = list(store.list_multipart("bucket"))
    if resume:
        assert len(kept) == 1
        assert len(list(cache.glob("*.jsonl"))) == 1
        cancelling.sent.clear()
        conn.upload_file("bucket", "k", source)
        assert cancelling.sent == []  # every part was stored: only completed now
        assert conn.download_bytes("bucket", "k") == source.read_bytes()
    else:
        assert kept == []
        assert not cache.exists() or list(cache.iterdir()) == []


class CancellingGets(Gets):
    """Cancels the batch once the third GET is answered."""

    batch: s3po.Batch | None = None

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        if_match: str | None = None,
    ) -> s3po.GetResult:
        got = super().get(bucket, key, start=start, end=end, if_match=if_match)
        if len(self.asked) == 3 and self.batch is not None:
            self.batch.cancel()
        return got


@pytest.mark.parametrize("resume", [True, False])
def test_batch_cancellation_keeps_the_partial_download_only_with_resume_on(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    small_config: s3po.TransferConfig,
    stored: bytes,
    tmp_path: Path,
    cache: Path,
    resume: bool,
) -> None:
    gets = CancellingGets(store)
    conn = make_conn(gets, small_config.evolve(resume=resume, max_concurrency=1))
    batch = conn.batch(max_workers=1)
    gets.batch = batch
    dest = tmp_path / "copy.bin"
    with pytest.raises(s3po.BatchError) as caught, batch:
        batch.download_file("bucket", "k", dest)
    assert caught.group_contains(s3po.Cancelled)
    assert not dest.exists()
    partial = dest.with_name(".copy.bin.s3po-partial")
    if resume:
        assert partial.is_file()
        assert len(list(cache.glob("*.jsonl"))) == 1
        gets.batch = None
        gets.asked.clear()
        conn.download_file("bucket", "k", dest)
        assert [start for start, _ in gets.asked][1:] == [3 * PART, 4 * PART, 5 * PART]
        assert dest.read_bytes() == stored
        assert not partial.exists()
    else:
        assert list(tmp_path.glob(".copy.bin*")) == []
        assert not cache.exists() or list(cache.iterdir()) == []


class CrcParts(Parts):
    """Declares each part's CRC32C, as the S3 backend does under ``checksum_algorithm``."""

    def put_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, data: s3po.PartBody
    ) -> s3po.PartInfo:
        info = super().put_part(bucket, key, upload_id, part_number, data)
        algo = checksums.crc("crc32c")
        value = algo.encode(algo.of(data if isinstance(data, s3po.FileWindow) else bytes(data)))
        return s3po.PartInfo(info.part_number, info.etag, info.size, value, "crc32c")


def test_a_kept_part_must_also_match_its_journaled_wire_checksum(
    make_conn: Callable[..., s3po.Connection],
    store: LocalBackend,
    source: Path,
    small_config: s3po.TransferConfig,
    cache: Path,
) -> None:
    """The stored part's checksum is compared with the planned bytes' of the same algorithm."""
    parts = CrcParts(store)
    conn = make_conn(parts, small_config.evolve(resume=True, retries=0, max_concurrency=1))
    _interrupt(conn, parts, source, at=4)
    (journal,) = cache.iterdir()
    lines = journal.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r.get("checksum_algorithm") for r in records[1:]] == ["crc32c"] * 3
    records[2]["checksum"] = checksums.crc("crc32c").encode(0)  # part 2: same MD5, other CRC
    journal.write_text("".join(json.dumps(r) + "\n" for r in records))
    parts.sent.clear()

    conn.upload_file("bucket", "k", source)

    assert parts.sent == [2, 4, 5, 6]
    assert conn.download_bytes("bucket", "k") == source.read_bytes()
