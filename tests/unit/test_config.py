"""Configuration: sizes, retry and chunk policies, and TransferConfig.evolve."""

from __future__ import annotations

import dataclasses
import random
from typing import TypedDict

import pytest

import s3po
from s3po import ChunkConfig, ConfigError, RetryConfig, TransferConfig, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8MiB", 8 * 1024**2),
        ("10MB", 10 * 1000**2),
        ("10 MB", 10 * 1000**2),
        (" 8 mib ", 8 * 1024**2),
        ("5242880", 5_242_880),
        ("0", 0),
        ("1k", 1000),
        ("1KiB", 1024),
        ("1.5KiB", 1536),
        ("2g", 2 * 1000**3),
        ("2GiB", 2 * 1024**3),
        ("1TiB", 1024**4),
        ("100b", 100),
        (5 * 1024, 5 * 1024),
    ],
)
def test_parse_size(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "MiB", "eight", "8 mibs", "8ib", "0x10", "nan", "8 MiB 2"])
def test_parse_size_refuses_non_sizes(text: str) -> None:
    with pytest.raises(ConfigError, match="not a size"):
        parse_size(text)


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")


class _RetryKwargs(TypedDict, total=False):
    retries: int
    base: float
    cap: float
    deadline: float | None


@pytest.mark.parametrize(
    "kwargs", [{"retries": -1}, {"base": -0.1}, {"cap": -1.0}, {"deadline": 0}, {"deadline": -5}]
)
def test_retry_config_validation(kwargs: _RetryKwargs) -> None:
    with pytest.raises(ConfigError):
        RetryConfig(**kwargs)


def test_retry_config_defaults() -> None:
    config = RetryConfig()
    assert (config.retries, config.base, config.cap, config.deadline) == (3, 0.1, 20.0, None)
    assert RetryConfig(retries=0).retries == 0


@pytest.mark.parametrize(
    "kwargs", [{"part_size": 0}, {"part_size": -1}, {"threshold": -1}, {"max_concurrency": 0}]
)
def test_chunk_config_validation(kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigError):
        ChunkConfig(**kwargs)


def test_configs_are_immutable() -> None:
    config = TransferConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.compress = "gzip"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.retry.retries = 9  # type: ignore[misc]


def test_transfer_config_validation() -> None:
    with pytest.raises(ConfigError):
        TransferConfig(max_decompressed_size=-1)


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_backoff_is_full_jitter_within_the_ceiling(seed: int) -> None:
    config = RetryConfig(base=0.5, cap=8.0)
    rng = random.Random(seed)
    reference = random.Random(seed)
    for n in range(12):
        ceiling = min(8.0, 0.5 * 2**n)
        delay = config.backoff(n, rng)
        assert 0 <= delay <= ceiling
        assert delay == reference.uniform(0, ceiling)


def test_backoff_spreads_over_the_whole_range() -> None:
    config = RetryConfig(base=1.0, cap=4.0)
    rng = random.Random(7)
    delays = [config.backoff(5, rng) for _ in range(2000)]
    assert max(delays) <= 4.0
    # Full jitter: both ends of [0, cap] are reached, not just a band near the ceiling.
    assert min(delays) < 0.1
    assert max(delays) > 3.9


def test_backoff_is_repeatable_with_a_seed() -> None:
    config = RetryConfig()
    first = [config.backoff(n, random.Random(3)) for n in range(6)]
    again = [config.backoff(n, random.Random(3)) for n in range(6)]
    assert first == again


def test_backoff_with_zero_base_never_waits() -> None:
    config = RetryConfig(base=0, cap=10)
    assert {config.backoff(n, random.Random(n)) for n in range(10)} == {0.0}


def test_evolve_flat_retry_and_chunk_fields() -> None:
    config = TransferConfig()
    changed = config.evolve(
        retries=7, base=0.01, cap=1.0, deadline=30.0, threshold="1MiB", part_size="256KiB"
    )
    assert changed.retry == RetryConfig(retries=7, base=0.01, cap=1.0, deadline=30.0)
    assert changed.chunk.threshold == 1024**2
    assert changed.chunk.part_size == 256 * 1024
    assert changed.chunk.max_concurrency == config.chunk.max_concurrency
    # The original is untouched.
    assert config.retry == RetryConfig()
    assert config.chunk == ChunkConfig()


def test_evolve_plain_fields() -> None:
    headers = s3po.Headers(cache_control="no-store")
    config = TransferConfig().evolve(compress="gzip", decompress=False, headers=headers)
    assert config.compress == "gzip"
    assert config.decompress is False
    assert config.headers is headers


def test_evolve_validates() -> None:
    config = TransferConfig()
    with pytest.raises(ConfigError):
        config.evolve(retries=-1)
    with pytest.raises(ConfigError):
        config.evolve(part_size=0)
    with pytest.raises(ConfigError, match="not a size"):
        config.evolve(threshold="big")
    with pytest.raises(ConfigError):
        config.evolve(max_concurrency=0)
    with pytest.raises(ConfigError):
        config.evolve(no_such_option=1)
