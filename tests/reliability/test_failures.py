"""When retries run out, or an object changes mid-download: a typed error, nothing half-done.

Only faults after which the server did nothing are used where the test asserts that nothing
is stored: after a ``reset_after`` on a single PUT the object *is* stored and the client
cannot know; that case is the caller's to repeat, and no test pretends otherwise.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from s3po_reliability import (  # type: ignore[import-not-found]
    MIB,
    connect,
    data,
    faults,
    open_uploads,
    stored_keys,
)

import s3po

pytestmark = pytest.mark.integration

#: Faults after which the server has done nothing.
UNSEEN = ("slowdown", "internal", "throttle", "reset_before")


def _always(operation: str, kinds: tuple[str, ...] = UNSEEN) -> Any:
    return faults.FaultPlan(seed=3, rate=1.0, kinds=kinds, operations=frozenset({operation}))


def _exhausted(exc: BaseException, attempts: int) -> None:
    """``exc`` is RetriesExhausted after ``attempts`` attempts, caused by a TransientError."""
    assert type(exc) is s3po.RetriesExhausted
    assert exc.attempts == attempts
    assert isinstance(exc.__cause__, s3po.TransientError)
    assert exc.last_exception is exc.__cause__


def test_put_out_of_retries_stores_nothing(s3_server: Any, bucket: str, proxy: Any) -> None:
    with connect(s3_server, proxy, retries=1) as conn:
        conn.upload_string(bucket, "kept", "version 1")
        proxy.configure(_always("PutObject"))
        for key in ("kept", "new"):
            with pytest.raises(s3po.RetriesExhausted) as caught:
                conn.upload_string(bucket, key, "version 2")
            _exhausted(caught.value, 2)
        assert len(proxy.requests("PutObject")) == 4  # two attempts each, no more
        assert stored_keys(s3_server, bucket) == {"kept"}
        body = s3_server.admin.get_object(Bucket=bucket, Key="kept")["Body"].read()
        assert body == b"version 1"


def test_multipart_out_of_retries_aborts_and_keeps_the_source(
    s3_server: Any, bucket: str, proxy: Any, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(data(11 * MIB, 1))
    with connect(s3_server, proxy, retries=1) as conn:
        conn.upload_string(bucket, "big.bin", "version 1")
        # Every part fails, in every way, including after the server stored it.
        proxy.configure(_always("UploadPart", (*UNSEEN, "reset_after")))
        with pytest.raises(s3po.RetriesExhausted) as caught:
            conn.upload_file(bucket, "big.bin", source, delete=True)
        _exhausted(caught.value, 2)
    assert source.read_bytes() == data(11 * MIB, 1)  # delete=True never ran
    aborts = proxy.requests("AbortMultipartUpload")
    assert len(aborts) == 1
    assert aborts[0].status == 204
    assert proxy.requests("CompleteMultipartUpload") == []
    assert open_uploads(s3_server, bucket) == []  # plain boto3: nothing left behind
    body = s3_server.admin.get_object(Bucket=bucket, Key="big.bin")["Body"].read()
    assert body == b"version 1"


def test_complete_answered_with_an_error_is_never_success(
    s3_server: Any, bucket: str, proxy: Any
) -> None:
    with connect(s3_server, proxy, retries=2) as conn:
        proxy.configure(_always("CompleteMultipartUpload", ("complete_error",)))
        with pytest.raises(s3po.RetriesExhausted) as caught:
            conn.upload_fileobj(bucket, "big.bin", io.BytesIO(data(6 * MIB, 2)))
        _exhausted(caught.value, 3)
    completes = proxy.requests("CompleteMultipartUpload")
    assert [r.status for r in completes] == [200, 200, 200]  # each a 200 with <Error>
    assert [r.status for r in proxy.requests("AbortMultipartUpload")] == [204]
    assert open_uploads(s3_server, bucket) == []
    assert stored_keys(s3_server, bucket) == set()


def test_complete_error_after_completing_is_recognised(
    s3_server: Any, bucket: str, proxy: Any
) -> None:
    """The first answer lies (the server did complete); the retry finds the object by ETag."""
    body = data(6 * MIB, 3)
    proxy.inject("complete_error_late")
    with connect(s3_server, proxy) as conn:
        result = conn.upload_fileobj(bucket, "big.bin", io.BytesIO(body))
        assert result.multipart
        assert conn.download_bytes(bucket, "big.bin") == body
    first, retry = proxy.requests("CompleteMultipartUpload")
    assert (first.fault, first.status) == ("complete_error_late", 200)
    # Completing again is a 200 (S3, moto and SeaweedFS), or NoSuchUpload, after which the
    # backend accepts the stored object only if its ETag is the one these parts make.
    assert retry.fault is None
    assert retry.status in {200, 404}
    assert proxy.requests("AbortMultipartUpload") == []
    assert open_uploads(s3_server, bucket) == []


def test_download_out_of_retries_writes_no_file(
    s3_server: Any, bucket: str, proxy: Any, tmp_path: Path
) -> None:
    target = tmp_path / "down" / "file.bin"
    target.parent.mkdir()
    with connect(s3_server, proxy, retries=1) as conn:
        conn.upload_fileobj(bucket, "file.bin", io.BytesIO(data(MIB, 5)))
        proxy.configure(_always("GetObject", ("slowdown", "internal", "reset_after")))
        with pytest.raises(s3po.RetriesExhausted) as caught:
            conn.download_file(bucket, "file.bin", target)
        _exhausted(caught.value, 2)
    assert list(target.parent.iterdir()) == []  # neither the file nor a temporary one


def test_cut_off_body_resumes_at_the_offset_reached(
    s3_server: Any, bucket: str, proxy: Any
) -> None:
    small, big = data(3 * MIB, 6), data(8 * MIB, 7)
    with connect(s3_server, proxy) as conn:
        conn.upload_fileobj(bucket, "small.bin", io.BytesIO(small))
        conn.upload_fileobj(bucket, "big.bin", io.BytesIO(big))
        etags = {
            k: s3_server.admin.head_object(Bucket=bucket, Key=k)["ETag"]
            for k in ("small.bin", "big.bin")
        }
        proxy.configure(faults.FaultPlan())
        proxy.inject("truncate", operation="GetObject", match=lambda r: "small" in r.path)
        proxy.inject(
            "truncate",
            operation="GetObject",
            match=lambda r: "big" in r.path and r.range is not None,
        )
        assert conn.download_bytes(bucket, "small.bin") == small
        assert conn.download_bytes(bucket, "big.bin") == big
    cut = proxy.cut_cap  # the proxy sends min(N // 2, cut_cap) bytes of a cut body
    gets = [(r.request.path.rsplit("/", 1)[1], r.request.range, r.request.if_match, r.fault)
            for r in proxy.requests("GetObject")]  # fmt: skip
    assert gets[:2] == [
        ("small.bin", None, None, "truncate"),
        ("small.bin", f"bytes={cut}-{3 * MIB - 1}", etags["small.bin"], None),
    ]
    # big.bin: the first part comes with the opening GET, the second by a ranged GET that
    # is cut and resumed from where it stopped, pinned to the same ETag.
    assert set(gets[2:]) == {
        ("big.bin", None, None, None),
        ("big.bin", f"bytes={5 * MIB + cut}-{8 * MIB - 1}", etags["big.bin"], None),
        ("big.bin", f"bytes={5 * MIB}-{8 * MIB - 1}", etags["big.bin"], "truncate"),
    }


def test_object_replaced_between_cut_and_resume_fails_cleanly(
    s3_server: Any, bucket: str, proxy: Any, tmp_path: Path
) -> None:
    """Never a mix of two versions: the resume is pinned by If-Match, and 412 is final."""
    old = data(3 * MIB, 8)
    target = tmp_path / "down" / "file.bin"
    target.parent.mkdir()
    with connect(s3_server, proxy) as conn:
        conn.upload_fileobj(bucket, "file.bin", io.BytesIO(old))

        def replace(_record: Any) -> None:
            s3_server.admin.put_object(Bucket=bucket, Key="file.bin", Body=data(3 * MIB, 9))

        proxy.after_fault = replace
        proxy.inject("truncate", operation="GetObject")
        with pytest.raises(s3po.PreconditionFailed) as caught:
            conn.download_file(bucket, "file.bin", target)
    assert type(caught.value) is s3po.PreconditionFailed  # not retried: retrying cannot help
    assert list(target.parent.iterdir()) == []
    resume = proxy.requests("GetObject")[-1]
    assert resume.request.range_start == proxy.cut_cap
    assert resume.request.if_match is not None
    assert resume.status == 412
