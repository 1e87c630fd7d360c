"""Codecs: every registered codec round-trips, detects damage, and interoperates."""

from __future__ import annotations

import gzip
import random
import shutil
import subprocess

import pytest

import s3po
from s3po.codecs import DecodingBody, EncodingReader

CODECS = ["gzip", "zstd", "br"]
#: Chunk sizes that do not line up with any codec's block or frame size.
ODD_STEPS = [1, 3, 7, 997, 4093, 65_537]


def _sample(n: int, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    # Half incompressible, half repetitive, so codecs produce several blocks of both kinds.
    return rng.randbytes(n // 2) + (b"s3po " * (n // 10 + 1))[: n - n // 2]


def _encode(codec: s3po.Codec, data: bytes, step: int = 1 << 20) -> bytes:
    encoder = codec.encoder()
    out = [encoder.encode(data[i : i + step]) for i in range(0, len(data), step)]
    out.append(encoder.flush())
    return b"".join(out)


def _decode(codec: s3po.Codec, blob: bytes, step: int = 1 << 20) -> bytes:
    decoder = codec.decoder()
    out = [decoder.decode(blob[i : i + step]) for i in range(0, len(blob), step)]
    out.append(decoder.flush())
    return b"".join(out)


@pytest.fixture
def codecs(registries: s3po.Registries) -> s3po.CodecRegistry:
    return registries.codecs


def test_builtin_codecs_are_registered(codecs: s3po.CodecRegistry) -> None:
    assert set(CODECS) <= set(codecs.names())
    for name in CODECS:
        codec = codecs.get(name)
        assert isinstance(codec, s3po.Codec)
        assert codec.name == name
    assert codecs.get("GZIP") is codecs.get("gzip")
    assert codecs.get("x-gzip").name == "gzip"


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("step", ODD_STEPS)
def test_round_trip_in_odd_chunks(codecs: s3po.CodecRegistry, name: str, step: int) -> None:
    codec = codecs.get(name)
    data = _sample(150_001 if step > 10 else 20_011, step)
    blob = _encode(codec, data, step)
    assert blob != data
    assert _decode(codec, blob, step) == data
    # Encoded in one go, decoded in odd chunks, and the other way round.
    assert _decode(codec, _encode(codec, data), step) == data
    assert _decode(codec, blob) == data


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("level", [1, 5])
def test_levels(codecs: s3po.CodecRegistry, name: str, level: int) -> None:
    codec = codecs.get(name)
    data = _sample(20_000)
    encoder = codec.encoder(level)
    blob = encoder.encode(data) + encoder.flush()
    assert _decode(codec, blob) == data


@pytest.mark.parametrize("name", CODECS)
def test_empty_input(codecs: s3po.CodecRegistry, name: str) -> None:
    codec = codecs.get(name)
    blob = _encode(codec, b"")
    assert _decode(codec, blob) == b""
    assert _decode(codec, blob, 1) == b""
    # A decoder fed nothing at all yields nothing and does not complain.
    decoder = codec.decoder()
    assert decoder.flush() == b""


@pytest.mark.parametrize("name", ["gzip", "zstd"])
@pytest.mark.parametrize("step", [1, 5, 1 << 20])
def test_concatenated_members_decode(codecs: s3po.CodecRegistry, name: str, step: int) -> None:
    codec = codecs.get(name)
    pieces = [b"first member\n", b"", _sample(40_000, 2), b"last\n"]
    blob = b"".join(_encode(codec, p) for p in pieces)
    assert _decode(codec, blob, step) == b"".join(pieces)


def test_concatenated_gzip_from_the_standard_library(codecs: s3po.CodecRegistry) -> None:
    blob = gzip.compress(b"abc") + gzip.compress(b"def", mtime=0)
    assert _decode(codecs.get("gzip"), blob, 3) == b"abcdef"


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize(
    "junk", [b"this is not compressed at all", b"\xff" * 64, bytes(range(256)) * 4]
)
def test_garbage_raises_corrupt_data(codecs: s3po.CodecRegistry, name: str, junk: bytes) -> None:
    with pytest.raises(s3po.CorruptData):
        _decode(codecs.get(name), junk)


@pytest.mark.parametrize("name", ["gzip", "zstd"])
def test_flipped_byte_raises_corrupt_data(codecs: s3po.CodecRegistry, name: str) -> None:
    codec = codecs.get(name)
    data = _sample(50_000, 3)
    blob = bytearray(_encode(codec, data))
    # A byte in the middle of the compressed stream, and one in the checksum trailer.
    for where in (len(blob) // 2, len(blob) - 2):
        damaged = bytearray(blob)
        damaged[where] ^= 0x5A
        with pytest.raises(s3po.CorruptData):
            _decode(codec, bytes(damaged), 4096)


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("keep", [0.0, 0.01, 0.5, 0.99])
def test_truncated_input_raises_corrupt_data(
    codecs: s3po.CodecRegistry, name: str, keep: float
) -> None:
    codec = codecs.get(name)
    blob = _encode(codec, _sample(60_000, 4))
    cut = max(1, int(len(blob) * keep))
    assert cut < len(blob)
    with pytest.raises(s3po.CorruptData, match=r"truncated|ended|not valid"):
        _decode(codec, blob[:cut], 1000)


@pytest.mark.parametrize("name", CODECS)
def test_codec_errors_are_transfer_errors(codecs: s3po.CodecRegistry, name: str) -> None:
    with pytest.raises(s3po.TransferError):
        _decode(codecs.get(name), b"\x00\x01\x02 junk junk junk")


def test_gzip_output_is_standard_gzip(codecs: s3po.CodecRegistry) -> None:
    data = _sample(300_000, 5)
    blob = _encode(codecs.get("gzip"), data, 7777)
    assert blob[:2] == b"\x1f\x8b"
    assert gzip.decompress(blob) == data


@pytest.mark.skipif(shutil.which("gzip") is None, reason="needs the gzip command-line tool")
def test_gzip_output_readable_by_gzip_tool(codecs: s3po.CodecRegistry) -> None:
    data = _sample(200_000, 6)
    blob = _encode(codecs.get("gzip"), data, 4093)
    done = subprocess.run(["gzip", "-d", "-c"], input=blob, capture_output=True, check=True)
    assert done.stdout == data
    assert done.stderr == b""


def test_zstd_output_is_standard_zstd(codecs: s3po.CodecRegistry) -> None:
    zstandard = pytest.importorskip("zstandard")
    data = _sample(100_000, 7)
    blob = _encode(codecs.get("zstd"), data, 999)
    reader = zstandard.ZstdDecompressor().stream_reader(blob)
    assert reader.read() == data


def test_br_output_is_standard_brotli(codecs: s3po.CodecRegistry) -> None:
    brotli = pytest.importorskip("brotli")
    data = _sample(100_000, 8)
    assert brotli.decompress(_encode(codecs.get("br"), data, 999)) == data


# -- the streaming wrappers ---------------------------------------------------------------


@pytest.mark.parametrize("name", CODECS)
@pytest.mark.parametrize("read_size", [1, 100, 65_536, -1])
def test_encoding_reader_and_decoding_body(
    codecs: s3po.CodecRegistry, name: str, read_size: int
) -> None:
    import io  # noqa: PLC0415

    codec = codecs.get(name)
    data = _sample(120_000, 9)
    reader = EncodingReader(io.BytesIO(data), codec.encoder(), chunk_size=4093)
    blob = b""
    while chunk := reader.read(read_size):
        blob += chunk
        if read_size < 0:
            break
    assert reader.raw_bytes == len(data)
    body = DecodingBody(s3po.BytesBody(blob), [codec.decoder()], bucket="b", key="k")
    out = b""
    while chunk := body.read(read_size):
        out += chunk
    assert out == data
    assert body.decoded_bytes == len(data)


def test_decoding_body_undoes_stacked_codecs_in_reverse(codecs: s3po.CodecRegistry) -> None:
    data = _sample(50_000, 10)
    once = _encode(codecs.get("gzip"), data)
    twice = _encode(codecs.get("zstd"), once)  # Content-Encoding: gzip, zstd
    decoders = [codecs.get("zstd").decoder(), codecs.get("gzip").decoder()]
    assert DecodingBody(s3po.BytesBody(twice), decoders).readall() == data


def test_decoding_body_names_the_object_in_corrupt_data(codecs: s3po.CodecRegistry) -> None:
    body = DecodingBody(s3po.BytesBody(b"junk" * 10), [codecs.get("gzip").decoder()], key="k")
    body2 = DecodingBody(
        s3po.BytesBody(b"junk" * 10), [codecs.get("gzip").decoder()], bucket="bkt", key="obj"
    )
    with pytest.raises(s3po.CorruptData):
        body.read()
    with pytest.raises(s3po.CorruptData) as info:
        body2.read()
    assert (info.value.bucket, info.value.key) == ("bkt", "obj")
    assert "s3://bkt/obj" in str(info.value)


@pytest.mark.parametrize("name", CODECS)
def test_max_decompressed_size_guards_against_bombs(codecs: s3po.CodecRegistry, name: str) -> None:
    codec = codecs.get(name)
    bomb = _encode(codec, bytes(5_000_000))
    assert len(bomb) < 100_000
    body = DecodingBody(s3po.BytesBody(bomb), [codec.decoder()], limit=1_000_000)
    with pytest.raises(s3po.CorruptData, match="max_decompressed_size"):
        body.readall()


@pytest.mark.parametrize("name", CODECS)
def test_max_decompressed_size_allows_up_to_the_limit(
    codecs: s3po.CodecRegistry, name: str
) -> None:
    codec = codecs.get(name)
    data = bytes(1_000_000)
    body = DecodingBody(s3po.BytesBody(_encode(codec, data)), [codec.decoder()], limit=len(data))
    assert body.readall() == data
