"""Drive an engine through time-ordered readings with a clock tick, as the daemon does.

The same driver runs rule unit tests, backtests and replays, so they all see
exactly the engine production runs.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from itertools import islice
from operator import attrgetter, itemgetter, le
from typing import Any, TypeAlias

from gatewatch.anomaly.signals import DerivedSignal
from gatewatch.rules.engine import Engine
from gatewatch.rules.events import AlertEvent
from gatewatch.rules.reading import Reading

Sample: TypeAlias = Reading | DerivedSignal
Row: TypeAlias = tuple[str, str, str, float, float]  # site, asset, metric, ts, value


def replay(
    engine: Engine,
    readings: Iterable[Any],
    *,
    start: float,
    until: float,
    tick: float = 10.0,
    on_tick: Callable[[float], None] | None = None,
    rows: bool = False,
) -> list[AlertEvent]:
    """Feed readings (sorted by ts) in batches between ticks every ``tick`` seconds.

    ``rows=True``: the readings are ``Row`` tuples (the backtest fast path).
    """
    if tick <= 0:
        raise ValueError("tick must be > 0")
    feed: Callable[[list[Any]], list[AlertEvent]] = engine.process_rows if rows else engine.process
    stamp = itemgetter(3) if rows else attrgetter("ts")
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
