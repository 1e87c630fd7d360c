"""Wire checksums (``checksum_algorithm=``): CRC32, CRC32C, CRC64NVME on moto and SeaweedFS.

What the servers do, as measured: SeaweedFS verifies every algorithm (BadDigest for a
wrong value) and keeps full-object and composite checksums as S3 does. moto keeps a PUT's
checksum only when the algorithm is named, accepts wrong values, and stores the CRC32 of
the object under the CRC32C name for a full-object CRC32C multipart upload (so a download
that checks it fails: a real server's way to show a mismatch being caught).
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from s3po_obstore.backend import ObstoreBackend
from s3po_s3.backend import S3Backend

import s3po
from s3po._cli.common import Local, Remote
from s3po._cli.compare import same_content
from s3po._cli.plan import Entry
from s3po.backend import Capabilities, Headers, checksums

MIB = 1024 * 1024
#: Two parts, the least a real server takes: 5 MiB, then a small last one.
BIG = os.urandom(5 * MIB) + os.urandom(3000)
#: Every algorithm with each multipart type S3 allows for it.
KINDS = [
    ("crc32", "composite"),
    ("crc32", "full_object"),
    ("crc32c", "composite"),
    ("crc32c", "full_object"),
    ("crc64nvme", "full_object"),
]


def ours(algorithm: str, data: bytes) -> str:
    """awscrt's (zlib's for CRC32) checksum of ``data``, base64 as S3 shows it."""
    algo = checksums.crc(algorithm)
    return algo.encode(algo.of(data))


def stored(server: Any, bucket: str, key: str) -> dict[str, str]:
    """The checksum fields the server reports for the object (raw boto3, checksum mode on)."""
    response = server.admin.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    return {k: str(v) for k, v in response.items() if k.startswith("Checksum")}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("S3PO_CHECKSUM", raising=False)


# -- options ------------------------------------------------------------------------------


def test_unknown_algorithm_is_a_config_error_naming_the_choices() -> None:
    with pytest.raises(s3po.ConfigError, match=r"crc32c.*crc64nvme.*md5"):
        S3Backend(endpoint_url="http://127.0.0.1:1", checksum_algorithm="sha512")
    with pytest.raises(s3po.ConfigError, match="checksum_type"):
        S3Backend(endpoint_url="http://127.0.0.1:1", checksum_type="partly")


def test_both_spellings_and_the_environment_resolve_to_one_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "http://127.0.0.1:1"
    assert S3Backend(endpoint_url=url, checksum="MD5").checksum == "md5"
    assert S3Backend(endpoint_url=url, checksum_algorithm="CRC32C").checksum == "crc32c"
    assert S3Backend(endpoint_url=url).checksum_policy == checksums.ChecksumPolicy(
        "crc32", "composite"
    )
    same = S3Backend(endpoint_url=url, checksum="crc32c", checksum_algorithm="CRC32C")
    assert same.checksum == "crc32c"
    with pytest.raises(s3po.ConfigError, match="disagree"):
        S3Backend(endpoint_url=url, checksum="md5", checksum_algorithm="crc32c")
    monkeypatch.setenv("S3PO_CHECKSUM", "crc64nvme")
    assert S3Backend(endpoint_url=url).checksum_policy.type == "full_object"
    assert ObstoreBackend(endpoint_url=url).checksum == "crc64nvme"


def test_crc64nvme_is_full_object_only_and_md5_takes_no_type() -> None:
    url = "http://127.0.0.1:1"
    with pytest.raises(s3po.ConfigError, match="full_object"):
        S3Backend(endpoint_url=url, checksum_algorithm="crc64nvme", checksum_type="composite")
    with pytest.raises(s3po.ConfigError, match="CRC checksum_algorithm"):
        ObstoreBackend(endpoint_url=url, checksum_algorithm="md5", checksum_type="full_object")


def test_crc32c_without_awscrt_is_a_config_error_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "awscrt.checksums", None)  # the import fails
    url = "http://127.0.0.1:1"
    for algorithm in ("crc32c", "crc64nvme"):
        with pytest.raises(s3po.ConfigError, match=r"pip install 's3po\[crc\]'"):
            S3Backend(endpoint_url=url, checksum_algorithm=algorithm)
        with pytest.raises(s3po.ConfigError, match=r"pip install 's3po\[crc\]'"):
            ObstoreBackend(endpoint_url=url, checksum_algorithm=algorithm)
    assert S3Backend(endpoint_url=url).checksum == "crc32"  # zlib's, no extra needed


def test_a_backend_that_cannot_send_it_refuses_before_any_io(tmp_path: Any) -> None:
    with pytest.raises(s3po.NotSupported, match="cannot send wire checksums"):
        s3po.Connection("local", root=tmp_path, checksum_algorithm="crc64nvme")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(s3po.NotSupported, match="CRC32C"):
        Capabilities().require_checksum("crc32c", "mine")
    Capabilities().require_checksum("md5", "mine")  # not a wire CRC: nothing to declare
    with pytest.raises(s3po.ConfigError, match="unknown algorithms"):
        Capabilities(checksum_algorithms=frozenset({"adler32"}))


def test_full_object_checksums_combine_from_parts_in_order() -> None:
    pieces = [BIG[:1000], BIG[1000:5000], BIG[5000:5001], BIG[5001:9000]]
    for algorithm in checksums.CHECKSUM_ALGORITHMS:
        parts = [(ours(algorithm, p), len(p)) for p in pieces]
        assert checksums.combine(algorithm, parts) == ours(algorithm, b"".join(pieces))


# -- against the servers ------------------------------------------------------------------


@pytest.fixture
def backend_for(s3_server: Any) -> Iterator[Any]:
    made: list[S3Backend] = []

    def make(algorithm: str, checksum_type: str | None = None) -> S3Backend:
        backend = S3Backend(
            endpoint_url=s3_server.endpoint_url,
            session=s3_server.session,
            checksum_algorithm=algorithm,
            checksum_type=checksum_type,
        )
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


@pytest.mark.integration
@pytest.mark.parametrize("algorithm", checksums.CHECKSUM_ALGORITHMS)
def test_a_put_stores_the_checksum_awscrt_computes(
    s3_server: Any, s3_bucket: str, backend_for: Any, algorithm: str
) -> None:
    backend = backend_for(algorithm)
    backend.put(s3_bucket, "k", b"hello checksums", headers=Headers())
    field = "Checksum" + algorithm.upper()
    if s3_server.name == "moto" and algorithm == "crc32":
        # moto keeps a checksum only when the algorithm is named; CRC32 PUTs send the
        # checksum header alone, byte for byte as before
        assert field not in stored(s3_server, s3_bucket, "k")
        return
    assert stored(s3_server, s3_bucket, "k")[field] == ours(algorithm, b"hello checksums")
    info = backend.head(s3_bucket, "k")
    assert info.checksum == checksums.StoredChecksum(
        algorithm, ours(algorithm, b"hello checksums"), "full_object"
    )
    with backend.get(s3_bucket, "k") as result:
        assert result.body.readall() == b"hello checksums"


@pytest.mark.integration
def test_an_object_with_a_crc64nvme_downloads_without_awscrt(
    s3_server: Any,  # noqa: ARG001 - the server s3_bucket is on
    s3_bucket: str,
    backend_for: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AWS keeps a CRC64NVME with every new object: reading one needs no ``crc`` extra."""
    backend_for("crc64nvme").put(s3_bucket, "k", b"stored by another tool", headers=Headers())
    monkeypatch.setitem(sys.modules, "awscrt.checksums", None)  # the import fails
    plain = backend_for("crc32")
    with plain.get(s3_bucket, "k") as result:
        assert result.body.readall() == b"stored by another tool"


@pytest.mark.integration
@pytest.mark.parametrize(("algorithm", "checksum_type"), KINDS)
def test_multipart_uploads_carry_the_checksum_type_asked_for(
    s3_server: Any, s3_bucket: str, backend_for: Any, algorithm: str, checksum_type: str
) -> None:
    backend = backend_for(algorithm, checksum_type)
    upload = backend.start_multipart(s3_bucket, "big", headers=Headers())
    parts = [
        backend.put_part(s3_bucket, "big", upload, 1, BIG[: 5 * MIB]),
        backend.put_part(s3_bucket, "big", upload, 2, BIG[5 * MIB :]),
    ]
    assert [p.checksum for p in parts] == [
        ours(algorithm, BIG[: 5 * MIB]),
        ours(algorithm, BIG[5 * MIB :]),
    ]
    backend.complete_multipart(s3_bucket, "big", upload, parts)
    found = stored(s3_server, s3_bucket, "big")
    field = "Checksum" + algorithm.upper()
    moto_mislabels = s3_server.name == "moto" and algorithm == "crc32c"
    if checksum_type == "full_object" and not moto_mislabels:
        assert found[field] == ours(algorithm, BIG)
        assert found["ChecksumType"] == "FULL_OBJECT"
        with backend.get(s3_bucket, "big") as result:
            assert result.body.readall() == BIG  # and verified as it was read
    elif checksum_type == "composite" and s3_server.name == "seaweedfs":
        raw = b"".join(base64.b64decode(p.checksum or "") for p in parts)
        assert found[field] == ours(algorithm, raw) + "-2"
        info = backend.head(s3_bucket, "big")
        assert info.checksum is not None
        assert not info.checksum.full_object
        with backend.get(s3_bucket, "big") as result:
            assert result.body.readall() == BIG  # composite: not checked, still delivered


@pytest.mark.integration
@pytest.mark.parametrize("s3_server", ["seaweedfs"], indirect=True)
@pytest.mark.parametrize("algorithm", ["crc32c", "crc64nvme"])
def test_the_server_refuses_a_wrong_checksum(
    s3_bucket: str,
    backend_for: Any,
    algorithm: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = backend_for(algorithm)
    monkeypatch.setattr(checksums.Crc, "encode", lambda self, _value: "A" * (self.size * 2))
    with pytest.raises(s3po.TransientError, match="BadDigest"):
        backend.put(s3_bucket, "bad", b"hello", headers=Headers())


@pytest.mark.integration
@pytest.mark.parametrize("s3_server", ["moto"], indirect=True)
@pytest.mark.parametrize("backend_name", ["s3", "obstore"])
def test_a_download_whose_stored_checksum_differs_is_refused(
    s3_server: Any, s3_bucket: str, backend_name: str
) -> None:
    """moto stores a wrong CRC32C as given: the download checks the bytes against it."""
    wrong = checksums.crc("crc32c").encode(1234)
    s3_server.admin.put_object(
        Bucket=s3_bucket, Key="bad", Body=b"hello", ChecksumAlgorithm="CRC32C",
        ChecksumCRC32C=wrong,
    )  # fmt: skip
    s3_server.admin.put_object(Bucket=s3_bucket, Key="good", Body=b"hello")
    options = {**s3_server.options(), "checksum_algorithm": "crc32c"}
    with s3po.Connection(backend_name, **options) as conn:
        with pytest.raises(s3po.CorruptData, match=r"CRC32C checksum the store holds"):
            conn.download(s3_bucket, "bad")
        assert conn.download(s3_bucket, "good") == "hello"
        # a range cannot be checked against a whole-object checksum, so it is not
        with conn.backend.get(s3_bucket, "bad", start=1) as result:
            assert result.body.readall() == b"ello"


@pytest.mark.integration
@pytest.mark.parametrize("algorithm", ["crc32c", "crc64nvme"])
def test_the_default_backend_sends_the_new_checksums_through_boto3(
    s3_server: Any, s3_bucket: str, algorithm: str
) -> None:
    config = s3po.TransferConfig(
        chunk=s3po.ChunkConfig(threshold=5 * MIB, part_size=5 * MIB, max_concurrency=2)
    )
    options = {**s3_server.options(), "checksum_algorithm": algorithm.upper()}
    with s3po.Connection(config=config, **options) as conn:
        assert conn.backend.name == "obstore"
        conn.upload(s3_bucket, "small", b"small body")
        conn.upload(s3_bucket, "big", BIG)
        assert conn.download_bytes(s3_bucket, "big") == BIG
    field = "Checksum" + algorithm.upper()
    assert stored(s3_server, s3_bucket, "small")[field] == ours(algorithm, b"small body")
    if algorithm == "crc64nvme":  # full-object: the whole object's, on both servers
        assert stored(s3_server, s3_bucket, "big")[field] == ours(algorithm, BIG)


@pytest.mark.integration
def test_check_compares_a_file_with_an_object_by_its_stored_crc(
    s3_bucket: str, backend_for: Any, tmp_path: Any
) -> None:
    """A multipart object without s3po metadata: no plain-MD5 ETag, but a full-object CRC."""
    backend = backend_for("crc64nvme")
    upload = backend.start_multipart(s3_bucket, "big", headers=Headers())
    parts = [
        backend.put_part(s3_bucket, "big", upload, 1, BIG[: 5 * MIB]),
        backend.put_part(s3_bucket, "big", upload, 2, BIG[5 * MIB :]),
    ]
    backend.complete_multipart(s3_bucket, "big", upload, parts)
    info = backend.head(s3_bucket, "big")
    assert info.is_multipart
    assert info.checksum is not None
    assert info.checksum.full_object
    same, changed = tmp_path / "same", tmp_path / "changed"
    same.write_bytes(BIG)
    changed.write_bytes(BIG[:-1] + bytes([BIG[-1] ^ 1]))
    remote = Entry(Remote(s3_bucket, "big"), len(BIG), None, len(BIG), info)
    local = Entry(Local(same, "big"), len(BIG), None, len(BIG))
    assert same_content(local, remote) is True
    assert same_content(Entry(Local(changed, "big"), len(BIG), None, len(BIG)), remote) is False
    assert same_content(remote, local) is True
    composite = backend_for("crc32c")
    composite.put(s3_bucket, "one", b"x", headers=Headers(content_encoding="gzip"))
    encoded = composite.head(s3_bucket, "one")  # compressed: its CRC is not the file's
    other = Entry(Remote(s3_bucket, "one"), 1, None, 1, encoded)
    assert same_content(Entry(Local(same, "one"), 1, None, 1), other) is None
