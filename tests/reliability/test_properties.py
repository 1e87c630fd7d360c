"""Property: under a random fault schedule, a round trip is exact or fails with an s3po error.

Sizes sit around the part boundaries, codecs and Unicode keys are random, and so is the fault
schedule's seed. Retries are kept low (2) so that some examples run out of them: those must
raise an :class:`s3po.S3poError`, and never leave a multipart upload behind that the client
knew about.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from s3po_local import LocalBackend
from s3po_reliability import (  # type: ignore[import-not-found]
    MIB,
    connect,
    faults,
    open_uploads,
    orphans_expected,
)

import s3po
from s3po.validation import check_key

KIB = 1024
CODECS = st.sampled_from([None, "gzip", "zstd"])
_names = itertools.count()


def _valid(key: str) -> bool:
    try:
        check_key(key)
    except s3po.S3poError:
        return False
    return True


#: Any Unicode but surrogates and control characters (XML 1.0 cannot carry the latter in a
#: listing), 1 to 40 characters, and valid as an S3 key.
KEYS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
    _valid
)


def _sizes(part: int) -> st.SearchStrategy[int]:
    edges = [0, 1, part - 1, part, part + 1, 2 * part - 1, 2 * part, 2 * part + 1]
    return st.sampled_from(edges) | st.integers(0, 2 * part + 1)


def _body(size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    half = size // 2  # half compressible, half not: codecs see both
    return b"a" * half + rng.randbytes(size - half)


def _round_trip(conn: s3po.Connection, bucket: str, key: str, body: bytes, codec: Any) -> None:
    try:
        conn.upload_fileobj(bucket, key, io.BytesIO(body), compress=codec)
        got = conn.download_bytes(bucket, key)
    except s3po.S3poError as exc:
        failure: BaseException | None = exc
    else:
        failure = None
        assert got == body
    # Out of retries is fine; anything but one of s3po's own errors is not.
    assert failure is None or type(failure).__module__ == "s3po.errors", repr(failure)


class _SeededFlaky(s3po.ForwardingBackend):
    """Raises TransientError on a seeded share of calls, before or after the call is made.

    CreateMultipartUpload fails only before: an upload whose id never reached the client is
    ``cleanup``'s business, checked in test_faults.py and test_sigkill.py.
    """

    def __init__(self, inner: s3po.Backend, seed: int, rate: float) -> None:
        super().__init__(inner)
        self._rng = random.Random(seed)
        self._rate = rate

    def _maybe(self, op: str, call: Any, *, after: bool = True) -> Any:
        roll = self._rng.random()
        if roll < (self._rate if not after else self._rate / 2):
            raise s3po.TransientError(f"injected before {op}")
        result = call()
        if roll < self._rate:
            raise s3po.TransientError(f"injected after {op}")
        return result

    def put(self, *args: Any, **kw: Any) -> Any:
        return self._maybe("put", lambda: self.inner.put(*args, **kw))

    def put_part(self, *args: Any, **kw: Any) -> Any:
        return self._maybe("put_part", lambda: self.inner.put_part(*args, **kw))

    def start_multipart(self, *args: Any, **kw: Any) -> Any:
        return self._maybe("start", lambda: self.inner.start_multipart(*args, **kw), after=False)

    def complete_multipart(self, *args: Any, **kw: Any) -> Any:
        return self._maybe("complete", lambda: self.inner.complete_multipart(*args, **kw))

    def get(self, *args: Any, **kw: Any) -> Any:
        return self._maybe("get", lambda: self.inner.get(*args, **kw))


@settings(
    derandomize=True,  # the same examples on every run
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(size=_sizes(64 * KIB), codec=CODECS, key=KEYS, seed=st.integers(0, 2**32))
def test_local_round_trip_is_exact_or_a_typed_error(
    tmp_path: Path, size: int, codec: Any, key: str, seed: int
) -> None:
    store = LocalBackend(tmp_path / f"store-{next(_names)}", min_part_size=64 * KIB, fsync=False)
    store.create_bucket("bucket")
    config = s3po.TransferConfig(
        chunk=s3po.ChunkConfig(threshold=64 * KIB, part_size=64 * KIB, max_concurrency=2),
        retry=s3po.RetryConfig(retries=2, base=0.0),
    )
    with s3po.Connection(_SeededFlaky(store, seed, 0.3), config=config) as conn:
        _round_trip(conn, "bucket", f"{next(_names)}/{key}", _body(size, seed), codec)
    assert list(store.list_multipart("bucket")) == []


@pytest.mark.integration
@pytest.mark.parametrize("s3_server", ["moto"], indirect=True)
@settings(
    derandomize=True,  # the same examples on every run
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(size=_sizes(5 * MIB), codec=CODECS, key=KEYS, seed=st.integers(0, 2**32))
def test_s3_round_trip_is_exact_or_a_typed_error(
    s3_server: Any, bucket: str, proxy: Any, size: int, codec: Any, key: str, seed: int
) -> None:
    kinds = tuple(k for k in faults.KINDS if k != "stall")  # stalls only cost time here
    proxy.configure(faults.FaultPlan(seed=seed, rate=0.2, kinds=kinds))
    with connect(s3_server, proxy, retries=2) as conn:
        _round_trip(conn, bucket, f"{next(_names)}/{key}", _body(size, seed), codec)
        assert len(open_uploads(s3_server, bucket)) == orphans_expected(proxy)
        proxy.configure(faults.FaultPlan())
        conn.cleanup(bucket, older_than=dt.timedelta(0))
    assert open_uploads(s3_server, bucket) == []
