"""Drive an engine through time-ordered readings with a clock tick, as the daemon does.

The same driver runs rule unit tests, backtests and replays, so they all see
exactly the engine production runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter, itemgetter
from typing import Any, TypeAlias

from gatewatch.anomaly.signals import DerivedSignal
from gatewatch.rules.engine import Engine
from gatewatch.rules.events import AlertEvent
from gatewatch.sensors.reading import Reading

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
