"""Drive an engine through time-ordered readings with a clock tick, as the daemon does.

The same driver runs rule unit tests, backtests and replays, so they all see
exactly the engine production runs.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from operator import attrgetter, itemgetter, le
from typing import Any, TypeAlias

from gatewatch.core.events import AlertEvent
from gatewatch.core.reading import Reading
from gatewatch.core.signals import DerivedSignal
from gatewatch.rules.engine import Engine, KeyedRow

Sample: TypeAlias = Reading | DerivedSignal


@dataclass(frozen=True, slots=True)
class History:
    """Stored readings for a backtest: time-ordered ``(series key, ts, value)`` rows in
    chunks (lists), and the (site, asset, metric) of each series key."""

    names: Mapping[int, tuple[str, str, str]]
    chunks: Iterable[list[KeyedRow]]


def replay(
    engine: Engine,
    readings: Iterable[Any],
    *,
    start: float,
    until: float,
    tick: float = 10.0,
    on_tick: Callable[[float], None] | None = None,
) -> list[AlertEvent]:
    """Feed readings (sorted by ts) in batches between ticks every ``tick`` seconds."""
    if tick <= 0:
        raise ValueError("tick must be > 0")
    feed: Callable[[list[Any]], list[AlertEvent]] = engine.process
    stamp = attrgetter("ts")
    if isinstance(readings, list):
        stamps = list(map(stamp, readings))
        if all(map(le, stamps, islice(stamps, 1, None))):
            cuts = (start, until, tick)
            return _replay_sorted(engine, feed, readings, stamps, cuts=cuts, on_tick=on_tick)
    out: list[AlertEvent] = []
    next_tick = start
    batch: list[Any] = []
    for r in readings:
        ts = stamp(r)
        if ts > until:
            break
        if ts > next_tick:
            out += feed(batch)
            batch = []
            while ts > next_tick:
                out += engine.tick(next_tick)
                if on_tick is not None:
                    on_tick(next_tick)
                next_tick += tick
        batch.append(r)
    out += feed(batch)
    while next_tick <= until:
        out += engine.tick(next_tick)
        next_tick += tick
    return out


def _replay_sorted(
    engine: Engine,
    feed: Callable[[list[Any]], list[AlertEvent]],
    readings: list[Any],
    stamps: list[float],
    *,
    cuts: tuple[float, float, float],
    on_tick: Callable[[float], None] | None,
) -> list[AlertEvent]:
    """``replay`` of a sorted list: the same batches and ticks, cut by bisection
    instead of a Python step per reading."""
    (next_tick, until, tick), out = cuts, []
    pos, end = 0, bisect_right(stamps, until)
    while (cut := bisect_right(stamps, next_tick, pos, end)) < end:
        out += feed(readings[pos:cut])
        pos, ts = cut, stamps[cut]
        while ts > next_tick:
            out += engine.tick(next_tick)
            if on_tick is not None:
                on_tick(next_tick)
            next_tick += tick
    out += feed(readings[pos:end])
    while next_tick <= until:
        out += engine.tick(next_tick)
        next_tick += tick
    return out


def replay_history(
    engine: Engine,
    history: History,
    *,
    start: float,
    until: float,
    tick: float = 10.0,
    on_tick: Callable[[float], None] | None = None,
) -> list[AlertEvent]:
    """``replay`` of stored history: the same batches and ticks, cut per chunk by
    bisection; the rows after a chunk's last tick wait for the next chunk."""
    if tick <= 0:
        raise ValueError("tick must be > 0")
    names, out = history.names, list[AlertEvent]()
    clock = _Clock(engine, start, tick, on_tick)
    carry: list[KeyedRow] = []
    for chunk in history.chunks:
        rows = carry + chunk if carry else chunk
        stamps = list(map(_STAMP, rows))
        end = bisect_right(stamps, until)
        pos = clock.cut(rows, stamps, end, lambda batch: engine.process_keyed(batch, names), out)
        carry = rows[pos:end]
        if end < len(rows):
            break
    out += engine.process_keyed(carry, names)
    clock.run_until(until, out)
    return out


_STAMP = itemgetter(1)


class _Clock:
    """The tick schedule of a replay: ticks at start, start + tick, ... as event time passes."""

    def __init__(
        self, engine: Engine, start: float, tick: float, on_tick: Callable[[float], None] | None
    ) -> None:
        self.engine, self.next, self.tick, self.on_tick = engine, start, tick, on_tick

    def cut(
        self,
        rows: list[KeyedRow],
        stamps: list[float],
        end: int,
        feed: Callable[[list[KeyedRow]], list[AlertEvent]],
        out: list[AlertEvent],
    ) -> int:
        """Feed rows[:end] batch by batch up to the last tick they pass; return where the
        unfed rest (all at or before the next tick) begins."""
        pos = 0
        while (cut := bisect_right(stamps, self.next, pos, end)) < end:
            out += feed(rows[pos:cut])
            pos = cut
            self.run_until(stamps[cut], out, inclusive=False)
        return pos

    def run_until(self, t: float, out: list[AlertEvent], *, inclusive: bool = True) -> None:
        """The ticks before ``t`` (and at ``t`` if inclusive). A tick before the engine's
        next wakeup would change nothing and is skipped; ``on_tick`` still sees it."""
        engine, on_tick, wake = self.engine, self.on_tick, self.engine.next_wakeup()
        while self.next < t or (inclusive and self.next == t):
            if self.next >= wake:
                out += engine.tick(self.next)
                wake = engine.next_wakeup()
            if on_tick is not None:
                on_tick(self.next)
            self.next += self.tick
