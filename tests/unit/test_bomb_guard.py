"""The decompression-bomb guard bounds memory, not just the size it reports."""

from __future__ import annotations

import gzip
import tracemalloc

import pytest

import s3po
from s3po.codecs import DecodingBody


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
