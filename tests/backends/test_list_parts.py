"""ListParts (the optional ``PartLister`` interface) on the emulated backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from s3po_local import LocalBackend
from s3po_memory import MemoryBackend

import s3po
from s3po.backend.admin import PartLister, list_parts


@pytest.fixture(params=["local", "memory"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> s3po.Backend:
    made: s3po.Backend = (
        LocalBackend(tmp_path / "store", min_part_size=1024)
        if request.param == "local"
        else MemoryBackend(min_part_size=1024)
    )
    made.create_bucket("bucket")
    return made


def test_parts_are_listed_by_number_with_their_etags(backend: s3po.Backend) -> None:
    upload = backend.start_multipart("bucket", "k", headers=s3po.Headers())
    third = backend.put_part("bucket", "k", upload, 3, b"c" * 10)
    first = backend.put_part("bucket", "k", upload, 1, b"a" * 2048)
    assert isinstance(backend, PartLister)
    assert list(list_parts(backend, "bucket", "k", upload)) == [first, third]
    backend.put_part("bucket", "k", upload, 1, b"b" * 2048)  # replaced: the new one is listed
    (again, _) = list_parts(backend, "bucket", "k", upload)
    assert again.etag != first.etag


def test_an_unknown_upload_is_no_such_upload(backend: s3po.Backend) -> None:
    with pytest.raises(s3po.NoSuchUpload):
        list(list_parts(backend, "bucket", "k", "0123abcd"))


def test_a_backend_without_list_parts_is_not_supported(backend: s3po.Backend) -> None:
    class Bare:
        name = "bare"

    with pytest.raises(s3po.NotSupported, match="'bare' backend cannot list the parts"):
        list_parts(Bare(), "bucket", "k", "id")  # type: ignore[arg-type]
    # Through the stack's layers, the backend at the bottom answers.
    upload = backend.start_multipart("bucket", "k", headers=s3po.Headers())
    assert list(s3po.ForwardingBackend(backend).list_parts("bucket", "k", upload)) == []
