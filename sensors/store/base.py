"""The Store protocol: where readings and dead letters become durable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gatewatch.core.reading import Reading, SeriesKey


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message (or one metric of it) that could not be accepted, and why."""

    received_at: float
    topic: str
    payload: bytes  # truncated
    reason: str
    detail: str


class Store(Protocol):
    def write(self, readings: Sequence[Reading], dead: Sequence[DeadLetter]) -> None:
        """Make readings and dead letters durable; when this returns they survive kill -9."""

    def read_range(self, key: SeriesKey, start: float, end: float) -> list[tuple[float, float]]:
        """(ts, value) pairs of one series with start <= ts < end, oldest first."""

    def close(self) -> None: ...
