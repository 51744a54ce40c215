"""Test doubles shared by several test modules."""

from __future__ import annotations


class FakeClock:
    """A virtual clock: ``sleep`` advances ``now`` at once, and every wait is kept in ``sleeps``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
