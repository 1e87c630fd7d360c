"""Fixtures for the unit tests: a recording fake sleep and a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest


@dataclass
class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps (or a test ticks)."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    """A fake clock and a sleep that records its delays and advances the clock."""
    return FakeTime()
