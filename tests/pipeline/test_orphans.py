"""Lost CreateMultipartUpload replies, on the local backend: the orphan is aborted, no more.

A wrapper lets the first start go through to the store and then raises a TransientError,
as a reply cut after the server acted would; the retry layer starts a second upload.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from s3po_local import LocalBackend

import s3po
from s3po._types import ForwardingBackend, Headers, MultipartUpload
from s3po.middleware import Chunking, Retry

BIG = 300 * 1024
PART = 64 * 1024


class LoseStartReply(ForwardingBackend):
    """The first ``times`` starts create an upload, then fail as if the reply were lost."""

    def __init__(self, inner: s3po.Backend, times: int = 1) -> None:
        super().__init__(inner)
        self.times = times
        self.created: list[str] = []

    def start_multipart(self, bucket: str, key: str, *, headers: Headers) -> str:
        upload_id = self.inner.start_multipart(bucket, key, headers=headers)
        if self.times > 0:
            self.times -= 1
            self.created.append(upload_id)
            msg = "connection reset after the request was sent"
            raise s3po.TransientError(msg)
        return upload_id


def _uploads(store: LocalBackend) -> list[tuple[str, str]]:
    return [(u.key, u.upload_id) for u in store.list_multipart("bucket")]


def test_the_lost_upload_is_aborted_and_others_kept(
    make_conn: Callable[..., s3po.Connection], store: LocalBackend, tmp_path: Path
) -> None:
    # Another writer's upload of the same key, and an upload of a longer key.
    theirs = store.start_multipart("bucket", "big.bin", headers=Headers())
    longer = store.start_multipart("bucket", "big.bin.2", headers=Headers())
    path = tmp_path / "big.bin"
    path.write_bytes(random.Random(0).randbytes(BIG))
    lossy = LoseStartReply(store)
    conn = make_conn(lossy)
    conn.upload_file("bucket", "big.bin", path)
    assert len(lossy.created) == 1
    assert sorted(_uploads(store)) == sorted([("big.bin", theirs), ("big.bin.2", longer)])
    assert conn.download_bytes("bucket", "big.bin") == path.read_bytes()


def test_out_of_retries_leaves_no_upload(
    make_conn: Callable[..., s3po.Connection],
    small_config: s3po.TransferConfig,
    store: LocalBackend,
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(random.Random(1).randbytes(BIG))
    lossy = LoseStartReply(store, times=10)
    conn = make_conn(lossy, small_config.evolve(retry=s3po.RetryConfig(retries=2)))
    with pytest.raises(s3po.RetriesExhausted):
        conn.upload_file("bucket", "big.bin", path, delete=True)
    assert len(lossy.created) == 3
    assert _uploads(store) == []
    assert path.exists()


# -- the multipart layer alone: no Transfer around it --------------------------------------


def _layer(backend: s3po.Backend, retries: int = 3) -> Chunking:
    """Chunking over Retry, as Transfer stacks them, with nothing else around."""
    retry = Retry(backend, s3po.RetryConfig(retries=retries, base=0.0), sleep=lambda _s: None)
    chunk = s3po.ChunkConfig(threshold=PART, part_size=PART, max_concurrency=2)
    return Chunking(retry, chunk)


def test_the_multipart_layer_aborts_the_upload_a_lost_reply_made(store: LocalBackend) -> None:
    theirs = store.start_multipart("bucket", "big.bin", headers=Headers())  # before ours
    lossy = LoseStartReply(store, times=2)
    data = random.Random(2).randbytes(3 * PART)
    _layer(lossy).put("bucket", "big.bin", data, headers=Headers(), size=len(data))
    assert len(lossy.created) == 2
    assert _uploads(store) == [("big.bin", theirs)]
    assert store.get("bucket", "big.bin").body.read() == data


def test_the_multipart_layer_aborts_lost_uploads_when_retries_run_out(
    store: LocalBackend,
) -> None:
    lossy = LoseStartReply(store, times=10)
    data = random.Random(3).randbytes(3 * PART)
    with pytest.raises(s3po.RetriesExhausted):
        _layer(lossy, retries=1).put("bucket", "big.bin", data, headers=Headers())
    assert len(lossy.created) == 2
    assert _uploads(store) == []


def test_the_multipart_layer_lists_nothing_when_the_start_succeeded(store: LocalBackend) -> None:
    listed: list[str] = []

    class CountLists(ForwardingBackend):
        def list_multipart(self, bucket: str, prefix: str = "") -> Iterator[MultipartUpload]:
            listed.append(prefix)
            return self.inner.list_multipart(bucket, prefix)

    data = random.Random(4).randbytes(3 * PART)
    _layer(CountLists(store)).put("bucket", "big.bin", data, headers=Headers())
    assert listed == []
    assert _uploads(store) == []
