"""Resumable downloads of compressed objects, through the whole stack over the local store.

A framed object (seekable gzip or zstd) resumes at the frames an earlier run left on disk:
the next run fetches only the stored ranges of the frames missing, pinned to the ETag. A
compressed object without a frame index decodes only from its start, so its download
starts over, and the log says why.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from s3po_codecs.gzip import SeekableGzipCodec
from s3po_codecs.zstd import SeekableZstdCodec
from s3po_local import LocalBackend

import s3po
from s3po.resume import journal_dir

from .conftest import KIB, PART

FRAME = 16 * KIB
SIZE = 6 * PART + 123  # 25 frames of 16 KiB, the last one short


class Gets(s3po.ForwardingBackend):
    """Records every GET below the stack, and fails the nth one (and later ones) if told to."""

    def __init__(self, inner: s3po.Backend) -> None:
        super().__init__(inner)
        self.asked: list[tuple[int, int | None, str | None]] = []
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
        self.asked.append((start, end, if_match))
        return self.inner.get(bucket, key, start=start, end=end, if_match=if_match)


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Journals under this test's folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return journal_dir()


@pytest.fixture
def gets(store: LocalBackend) -> Gets:
    return Gets(store)


@pytest.fixture
def downloader(
    make_conn: Callable[..., s3po.Connection], gets: Gets, small_config: s3po.TransferConfig
) -> s3po.Connection:
    """Resume on, no retries, one range at a time (so "after two runs" means frames 0-7)."""
    return make_conn(gets, small_config.evolve(resume=True, retries=0, max_concurrency=1))


def _small_frames(codec: str) -> SeekableGzipCodec | SeekableZstdCodec:
    if codec == "gzip":
        return SeekableGzipCodec(member_size=FRAME)
    return SeekableZstdCodec(threads=0, frame_size=FRAME)


@pytest.fixture(autouse=True)
def small_frames(registries: s3po.Registries) -> None:
    """``gzip-small`` and ``zstd-small``: the seekable codecs with 16 KiB frames."""
    for codec in ("gzip", "zstd"):
        registries.codecs.register(f"{codec}-small", lambda c=codec: _small_frames(c))


def _framed(codec: str, data: bytes) -> bytes:
    encoder = _small_frames(codec).encoder()
    return encoder.encode(data) + encoder.flush()


def _store(conn: s3po.Connection, stored: bytes, encoding: str) -> None:
    """Store ``stored`` as it is, with Content-Encoding ``encoding`` (no content checksum)."""
    conn.upload_string("bucket", "k", stored, compress=None, headers={"Content-Encoding": encoding})


def _interrupt(conn: s3po.Connection, gets: Gets, dest: Path, at: int) -> None:
    gets.fail_at = at
    with pytest.raises(s3po.TransferError):
        conn.download_file("bucket", "k", dest)
    gets.fail_at = None


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_a_framed_download_resumes_at_the_frames_on_disk(
    downloader: s3po.Connection,
    gets: Gets,
    pconn: s3po.Connection,
    tmp_path: Path,
    cache: Path,
    codec: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = os.urandom(SIZE)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    # Compressed by s3po, so the content checksum verifies the whole file at the end.
    pconn.upload_file("bucket", "k", path, compress=f"{codec}-small")
    stored_size = pconn.head("bucket", "k").size
    dest = tmp_path / "copy.bin"
    # The opening GET, the index's tail, then two runs of frames (four frames each).
    _interrupt(downloader, gets, dest, at=5)
    partial = dest.with_name(".copy.bin.s3po-partial")
    assert partial.is_file()
    first = gets.asked[2:]
    gets.asked.clear()

    with caplog.at_level(logging.INFO, logger="s3po.resume"):
        result = downloader.download_file("bucket", "k", dest)

    etag = result.info.etag
    assert dest.read_bytes() == data
    assert not partial.exists()
    assert list(cache.iterdir()) == []
    # The pinned opening GET and the index again, then only the frames missing.
    (opening, tail, *frames) = gets.asked
    assert opening == (0, None, etag)
    assert tail[1] == stored_size
    assert all(pin == etag for _, _, pin in gets.asked)
    done = first[-1][1]  # the stored end of the last run the first run wrote
    assert done is not None
    assert frames[0][0] == done
    fetched = sum((hi or 0) - lo for lo, hi, _ in frames)
    assert fetched < stored_size - done + FRAME  # the frames on disk were not fetched again
    assert "resuming the download" in caplog.text


def test_a_framed_download_of_a_changed_object_starts_afresh(
    downloader: s3po.Connection,
    gets: Gets,
    pconn: s3po.Connection,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _store(pconn, _framed("gzip", os.urandom(SIZE)), "gzip")
    dest = tmp_path / "copy.bin"
    _interrupt(downloader, gets, dest, at=5)
    new = os.urandom(SIZE)
    _store(pconn, _framed("gzip", new), "gzip")
    gets.asked.clear()
    with caplog.at_level(logging.INFO, logger="s3po.resume"):
        downloader.download_file("bucket", "k", dest)
    assert "changed since its download was interrupted" in caplog.text
    assert dest.read_bytes() == new
    # The refused pinned GET, the opening GET, the index, then every frame from the start.
    assert gets.asked[3][0] == 0
    assert not dest.with_name(".copy.bin.s3po-partial").exists()


def test_a_compressed_download_without_frames_starts_over_and_says_why(
    downloader: s3po.Connection,
    gets: Gets,
    tmp_path: Path,
    cache: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Larger than the 1 MiB a file sink takes from a decoding body at a time, so the
    # interrupted run leaves some of it on disk.
    data = os.urandom(40 * PART)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    downloader.upload_file("bucket", "k", path, compress="gzip")  # one gzip stream
    dest = tmp_path / "copy.bin"
    _interrupt(downloader, gets, dest, at=30)  # read in order, as 64 KiB ranges
    partial = dest.with_name(".copy.bin.s3po-partial")
    assert partial.stat().st_size > 0  # what the first run decoded
    gets.asked.clear()

    with caplog.at_level(logging.INFO, logger="s3po.resume"):
        downloader.download_file("bucket", "k", dest)

    assert "not resuming the download of s3://bucket/k" in caplog.text
    assert "no frame index" in caplog.text
    assert "from the start" in caplog.text
    assert dest.read_bytes() == data
    assert not partial.exists()
    assert list(cache.iterdir()) == []


def test_a_damaged_frame_on_disk_is_caught_by_the_content_checksum(
    downloader: s3po.Connection, gets: Gets, pconn: s3po.Connection, tmp_path: Path, cache: Path
) -> None:
    data = os.urandom(SIZE)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    pconn.upload_file("bucket", "k", path, compress="zstd-small")
    dest = tmp_path / "copy.bin"
    _interrupt(downloader, gets, dest, at=5)
    partial = dest.with_name(".copy.bin.s3po-partial")
    with partial.open("r+b") as f:
        f.seek(FRAME + 5)
        f.write(bytes([data[FRAME + 5] ^ 0xFF]))
    with pytest.raises(s3po.CorruptData):
        downloader.download_file("bucket", "k", dest)
    assert not dest.exists()
    assert not partial.exists()
    assert list(cache.iterdir()) == []
    downloader.download_file("bucket", "k", dest)  # and the next run starts afresh
    assert dest.read_bytes() == data
