"""The decompression-bomb guard bounds memory, not just the size it reports."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

import s3po
from s3po.codecs import (
    DEFAULT_EXPANSION_RATIO,
    EXPANSION_FLOOR,
    MAX_ENCODING_LAYERS,
    DecodingBody,
    bounded,
)


@pytest.mark.parametrize("name", ["gzip", "zstd", "br"])
def test_bomb_is_refused_before_it_fills_memory(name: str) -> None:
    codecs = s3po.Registries(s3po.make_plugin_manager()).codecs
    encoder = codecs.get(name).encoder()
    zeros = b"\0" * (1 << 20)
    bomb = b"".join(encoder.encode(zeros) for _ in range(200)) + encoder.flush()
    assert len(bomb) < 2 << 20 if name != "gzip" else len(gzip.decompress(bomb)) == 200 << 20
    tracemalloc.start()
    try:
        body = DecodingBody(s3po.BytesBody(bomb), [codecs.get(name).decoder()], limit=1 << 20)
        with pytest.raises(s3po.CorruptData, match="decompression bomb"):
            body.readall()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


# -- bounded output per call ------------------------------------------------------------

STEP = 64 * 1024


def _bounded_decode(decoder: s3po.Decoder, blob: bytes, feed: int, limit: int) -> bytes:
    """Drive ``decoder`` as DecodingBody does, checking every call's output bound."""
    out = bytearray()
    for start in range(0, len(blob), feed):
        chunk = decoder.decode(blob[start : start + feed], limit)
        assert len(chunk) <= limit
        out += chunk
        while not decoder.needs_input:
            chunk = decoder.decode(b"", limit)
            assert len(chunk) <= limit
            if not chunk:
                break
            out += chunk
    while chunk := decoder.decode(b"", limit):
        assert len(chunk) <= limit
        out += chunk
    out += decoder.flush()
    return bytes(out)


def _zstd_frames(codec: s3po.Codec) -> bytes:
    import struct  # noqa: PLC0415

    zstandard = pytest.importorskip("zstandard")
    skippable = struct.pack("<II", 0x184D2A53, 5) + b"skip!"
    plain: bytes = zstandard.ZstdCompressor(level=3, write_checksum=False).compress(b"abc" * 50_000)
    encoder = codec.encoder()
    return skippable + encoder.encode(bytes(3 << 20)) + encoder.flush() + plain


@pytest.mark.parametrize("name", ["gzip", "zstd", "br"])
@pytest.mark.parametrize(("feed", "limit"), [(1, 1), (7, 1000), (4093, STEP), (1 << 20, STEP)])
def test_each_decode_call_returns_at_most_max_length(name: str, feed: int, limit: int) -> None:
    codecs = s3po.Registries(s3po.make_plugin_manager()).codecs
    codec = codecs.get(name)
    data = bytes(2 << 20) + b"tail" + bytes(range(256)) * 400
    if feed == 1:
        data = data[-20_000:]
    encoder = codec.encoder()
    blob = encoder.encode(data) + encoder.flush()
    if name != "br":  # concatenated members and frames, where the format allows them
        blob, data = blob + blob, data + data
    decoder = bounded(codec.decoder())
    assert _bounded_decode(decoder, blob, feed, limit) == data


def test_zstd_skippable_and_several_frames_decode_bounded() -> None:
    codec = s3po.Registries(s3po.make_plugin_manager()).codecs.get("zstd")
    blob = _zstd_frames(codec)
    expected = bytes(3 << 20) + b"abc" * 50_000
    for feed in (3, 1000, 1 << 20):
        assert _bounded_decode(bounded(codec.decoder()), blob, feed, STEP) == expected
    with pytest.raises(s3po.CorruptData, match="truncated"):
        _bounded_decode(bounded(codec.decoder()), blob[:-3], 1000, STEP)


class _OldShape:
    """A third-party decoder of the 0.1 shape: decode(data) and flush() only."""

    def __init__(self) -> None:
        self._d = zlib.decompressobj(31)

    def decode(self, data: bytes) -> bytes:
        return self._d.decompress(data)

    def flush(self) -> bytes:
        return self._d.flush()


def test_old_shaped_decoders_are_fed_in_slices() -> None:
    decoder = bounded(_OldShape())
    assert isinstance(decoder, s3po.Decoder)
    data = bytes(8 << 20)
    assert _bounded_decode(decoder, gzip.compress(data), 1 << 20, STEP) == data
    body = DecodingBody(s3po.BytesBody(gzip.compress(data)), [_OldShape()], key="k")
    assert body.readall() == data


def test_stacked_layers_are_each_bounded() -> None:
    codecs = s3po.Registries(s3po.make_plugin_manager()).codecs
    inner = gzip.compress(bytes(1 << 20), mtime=0) * 300  # 300 MiB of zeros, 300 members
    blob = gzip.compress(gzip.compress(inner, mtime=0), mtime=0)
    decoders = [codecs.get("gzip").decoder() for _ in range(3)]
    tracemalloc.start()
    try:
        body = DecodingBody(s3po.BytesBody(blob), decoders)
        while chunk := body.read(1 << 20):
            assert not chunk.strip(b"\0")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert body.decoded_bytes == 300 << 20
    assert peak < 16 << 20


def test_more_layers_than_allowed_is_refused() -> None:
    codecs = s3po.Registries(s3po.make_plugin_manager()).codecs
    decoders = [codecs.get("gzip").decoder() for _ in range(MAX_ENCODING_LAYERS + 1)]
    with pytest.raises(s3po.CorruptData, match=f"at most {MAX_ENCODING_LAYERS}"):
        DecodingBody(s3po.BytesBody(b""), decoders, bucket="b", key="k")


def test_expansion_ratio_applies_to_readall_only() -> None:
    codecs = s3po.Registries(s3po.make_plugin_manager()).codecs
    blob = gzip.compress(bytes(EXPANSION_FLOOR + (1 << 20)))  # above the floor, ratio ~1000

    def body(ratio: float | None) -> DecodingBody:
        return DecodingBody(
            s3po.BytesBody(blob),
            [codecs.get("gzip").decoder()],
            key="k",
            max_expansion_ratio=ratio,
            stored_size=len(blob),
        )

    with pytest.raises(s3po.CorruptData, match="max_expansion_ratio"):
        body(100).readall()
    assert len(body(DEFAULT_EXPANSION_RATIO).readall()) == EXPANSION_FLOOR + (1 << 20)
    assert len(body(None).readall()) == EXPANSION_FLOOR + (1 << 20)
    streamed = body(100)
    while streamed.read(1 << 20):
        pass
    assert streamed.decoded_bytes == EXPANSION_FLOOR + (1 << 20)


def test_config_default_matches_the_codec_layer() -> None:
    assert s3po.TransferConfig().max_expansion_ratio == DEFAULT_EXPANSION_RATIO
    with pytest.raises(s3po.ConfigError):
        s3po.TransferConfig(max_expansion_ratio=0.5)
