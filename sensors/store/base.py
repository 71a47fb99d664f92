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


STORED, DUPLICATE, CONFLICT = "stored", "duplicate", "conflict"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write made of its readings. ``fates`` is None when every one was stored
    (the common case); else one fate per reading, in order: STORED; DUPLICATE (that
    series and millisecond already hold the same value: a redelivery, kept once) or
    CONFLICT (they hold another value: dead-lettered in the same transaction).
    ``moved``: (index, ts) of readings without a payload time stored at the next free
    millisecond of their series instead of their own."""

    fates: tuple[str, ...] | None = None
    moved: tuple[tuple[int, float], ...] = ()
    journal_seq: int | None = None  # the evaluation journal's row of the stored readings


ALL_STORED = WriteResult()


class Store(Protocol):
    def write(self, readings: Sequence[Reading], dead: Sequence[DeadLetter]) -> WriteResult:
        """Make readings and dead letters durable; when this returns they survive kill -9."""

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
