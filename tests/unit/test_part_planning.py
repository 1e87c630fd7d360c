"""Part planning: s3po.middleware.part_size_for."""

from __future__ import annotations

import math

import pytest

from s3po import Capabilities, ChunkConfig, ConfigError
from s3po.middleware import part_size_for

MIB = 1024 * 1024
S3 = Capabilities()


def test_configured_part_size_is_kept_when_it_fits() -> None:
    config = ChunkConfig(part_size=8 * MIB)
    assert part_size_for(config, S3, 100 * MIB) == 8 * MIB
    assert part_size_for(config, S3) == 8 * MIB


def test_raised_to_the_backends_minimum() -> None:
    config = ChunkConfig(part_size=1 * MIB)
    assert part_size_for(config, S3, 100 * MIB) == 5 * MIB
    assert part_size_for(config, S3, None) == 5 * MIB
    small = Capabilities(min_part_size=64 * 1024)
    assert part_size_for(ChunkConfig(part_size=1000), small, 10**6) == 64 * 1024


@pytest.mark.parametrize("size", [80_000 * MIB, 10_000 * 8 * MIB + 1, 1024**4, 5 * 1024**4])
def test_grown_to_stay_within_max_parts(size: int) -> None:
    config = ChunkConfig(part_size=8 * MIB)
    part = part_size_for(config, S3, size)
    assert math.ceil(size / part) <= S3.max_parts
    assert part >= 8 * MIB
    assert part <= S3.max_part_size
    # It grows only as much as needed.
    assert part == max(8 * MIB, math.ceil(size / S3.max_parts))


def test_exactly_max_parts_is_not_grown() -> None:
    config = ChunkConfig(part_size=8 * MIB)
    assert part_size_for(config, S3, 10_000 * 8 * MIB) == 8 * MIB


def test_small_limits() -> None:
    caps = Capabilities(min_part_size=10, max_part_size=100, max_parts=3)
    config = ChunkConfig(part_size=10)
    assert part_size_for(config, caps, 30) == 10
    assert part_size_for(config, caps, 31) == 11
    assert part_size_for(config, caps, 300) == 100
    with pytest.raises(ConfigError):
        part_size_for(config, caps, 301)


def test_too_large_for_the_backend_is_a_config_error() -> None:
    too_big = S3.max_parts * S3.max_part_size + 1
    with pytest.raises(ConfigError, match="do not fit"):
        part_size_for(ChunkConfig(), S3, too_big)


def test_unknown_size_doubles_every_2000_parts() -> None:
    config = ChunkConfig(part_size=8 * MIB)
    sizes = {n: part_size_for(config, S3, None, n) for n in (1, 2000, 2001, 4000, 4001, 10_000)}
    assert sizes == {
        1: 8 * MIB,
        2000: 8 * MIB,
        2001: 16 * MIB,
        4000: 16 * MIB,
        4001: 32 * MIB,
        10_000: 128 * MIB,
    }
    total = sum(part_size_for(config, S3, None, n) for n in range(1, S3.max_parts + 1))
    assert total > 400 * 1024**3  # several hundred GB fit in 10,000 parts


def test_unknown_size_never_exceeds_max_part_size() -> None:
    caps = Capabilities(min_part_size=5 * MIB, max_part_size=20 * MIB)
    config = ChunkConfig(part_size=8 * MIB)
    assert part_size_for(config, caps, None, 2001) == 16 * MIB
    assert part_size_for(config, caps, None, 4001) == 20 * MIB
    assert part_size_for(config, caps, None, 9_999) == 20 * MIB


def test_unknown_size_parts_are_monotonic() -> None:
    config = ChunkConfig(part_size=5 * MIB)
    sizes = [part_size_for(config, S3, None, n) for n in range(1, S3.max_parts + 1, 97)]
    assert sizes == sorted(sizes)
    assert all(size >= S3.min_part_size for size in sizes)


def test_part_size_above_the_backend_maximum_is_clamped() -> None:
    caps = Capabilities(min_part_size=10, max_part_size=100, max_parts=1000)
    config = ChunkConfig(part_size=1000)
    assert part_size_for(config, caps, 5000) == 100
    assert part_size_for(config, caps, None) == 100
