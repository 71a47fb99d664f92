"""Drive an engine through time-ordered readings with a clock tick, as the daemon does.

The same driver runs rule unit tests, backtests and replays, so they all see
exactly the engine production runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeAlias

from gatewatch.anomaly.signals import DerivedSignal
from gatewatch.rules.engine import Engine
from gatewatch.rules.events import AlertEvent
from gatewatch.sensors.reading import Reading

Sample: TypeAlias = Reading | DerivedSignal


def replay(
    engine: Engine,
    readings: Iterable[Sample],
    *,
    start: float,
    until: float,
    tick: float = 10.0,
    on_tick: Callable[[float], None] | None = None,
) -> list[AlertEvent]:
    """Feed readings (sorted by ts) in batches between ticks every ``tick`` seconds."""
    if tick <= 0:
        raise ValueError("tick must be > 0")
    out: list[AlertEvent] = []
    next_tick = start
    batch: list[Sample] = []
    for r in readings:
        if r.ts > until:
            break
        while r.ts > next_tick:
            out += engine.process(batch)
            batch = []
            out += engine.tick(next_tick)
            if on_tick is not None:
                on_tick(next_tick)
            next_tick += tick
        batch.append(r)
    out += engine.process(batch)
    while next_tick <= until:
        out += engine.tick(next_tick)
        next_tick += tick
    return out
