"""The Store protocol (where readings and dead letters become durable) and the Forwarder
protocol (what sends the store's forward queue on to a time-series server)."""

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
    def write(self, readings: Sequence[Reading], dead: Sequence[DeadLetter]) -> int | None:
        """Make readings and dead letters durable; when this returns they survive kill -9.
        Returns the evaluation journal's seq of these readings, if the store keeps one."""

    def read_range(self, key: SeriesKey, start: float, end: float) -> list[tuple[float, float]]:
        """(ts, value) pairs of one series with start <= ts < end, oldest first."""

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ForwardLag:
    """How far the server is behind the local store, as figures."""

    queued: int  # readings waiting in forward_queue
    oldest_age_s: float  # now minus the timestamp of the next reading to send; 0 when empty
    last_success: float | None  # epoch seconds of the last write the server accepted
    failures: int  # failed write attempts since start (no answer, 5xx, auth, breaker)
    consecutive_failures: int  # failed attempts since the last accepted write
    parked: int  # readings the server refused, set aside in forward_parked
    sent: int  # readings the server accepted since start


class Forwarder(Protocol):
    """Drains the store's forward_queue to a server. ``start`` after the store exists (it
    runs in its own thread), ``stop`` before closing the store: what is unsent stays queued."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def lag(self) -> ForwardLag:
        """A snapshot of the forwarding lag; safe to call from any thread."""
        ...
