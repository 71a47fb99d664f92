"""Drive an engine through time-ordered readings with a clock tick, as the daemon does.

The same driver runs rule unit tests, backtests and replays, so they all see
exactly the engine production runs.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import accumulate, chain, islice
from operator import attrgetter, itemgetter
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
    """Feed readings (in time order) to ``engine.process`` in batches between ticks every
    ``tick`` seconds from ``start`` to ``until``; a reading later than ``until`` ends the
    replay. A reading older than one before it joins the batch it comes in, as it would
    in the daemon. ``on_tick`` sees every tick, up to ``until``."""
    chunks = [readings] if isinstance(readings, list) else _chunks(iter(readings))
    return _Clock(engine, engine.process, start, tick, on_tick).run(chunks, _TS, until)


def replay_history(
    engine: Engine,
    history: History,
    *,
    start: float,
    until: float,
    tick: float = 10.0,
    on_tick: Callable[[float], None] | None = None,
) -> list[AlertEvent]:
    """``replay`` of stored history (``engine.process_keyed``): the same batches and ticks,
    whatever the chunks."""
    names = history.names

    def feed(rows: list[KeyedRow]) -> list[AlertEvent]:
        return engine.process_keyed(rows, names)

    return _Clock(engine, feed, start, tick, on_tick).run(history.chunks, _STAMP, until)


Feed = Callable[[list[Any]], list[AlertEvent]]
_TS = attrgetter("ts")
_STAMP = itemgetter(1)
CHUNK = 4096  # readings taken from an iterator at a time


def _chunks(readings: Iterator[Any]) -> Iterator[list[Any]]:
    while chunk := list(islice(readings, CHUNK)):
        yield chunk


class _Clock:
    """The one tick loop of every replay: ticks at start, start + tick, ... as event time
    passes, and between two ticks one batch of what came in. A tick before the engine's
    next wakeup would change nothing and is skipped; ``on_tick`` still sees it."""

    def __init__(
        self,
        engine: Engine,
        feed: Feed,
        start: float,
        tick: float,
        on_tick: Callable[[float], None] | None,
    ) -> None:
        if tick <= 0:
            raise ValueError("tick must be > 0")
        self.engine, self.feed, self.on_tick = engine, feed, on_tick
        self.next, self.tick = start, tick
        self.out: list[AlertEvent] = []
        self.batch: list[list[Any]] = []  # the rows since the last tick, in pieces

    def run(
        self, chunks: Iterable[list[Any]], stamp: Callable[[Any], float], until: float
    ) -> list[AlertEvent]:
        """Feed the rows of ``chunks`` (``stamp`` gives a row's time) up to ``until``,
        then tick up to ``until``."""
        for rows in chunks:
            stamps = _times(list(map(stamp, rows)))
            end = bisect_right(stamps, until)
            pos = self.cut(rows, stamps, end)
            self.batch.append(rows[pos:end] if pos or end < len(rows) else rows)
            if end < len(rows):
                break
        self.flush()
        self.run_until(until)
        return self.out

    def cut(self, rows: list[Any], stamps: list[float], end: int) -> int:
        """Feed the batch and rows[:end] up to the last tick they pass; return where the
        rest (all at or before the next tick) begins."""
        pos = 0
        while (cut := bisect_right(stamps, self.next, pos, end)) < end:
            self.batch.append(rows[pos:cut])
            self.flush()
            pos = cut
            self.run_until(stamps[cut], inclusive=False)
        return pos

    def flush(self) -> None:
        batch = self.batch
        self.out += self.feed(batch[0] if len(batch) == 1 else list(chain.from_iterable(batch)))
        batch.clear()

    def run_until(self, t: float, *, inclusive: bool = True) -> None:
        """The ticks before ``t`` (and at ``t`` if inclusive)."""
        engine, on_tick, out = self.engine, self.on_tick, self.out
        wake = engine.next_wakeup()
        while self.next < t or (inclusive and self.next == t):
            if self.next >= wake:
                out += engine.tick(self.next)
                wake = engine.next_wakeup()
            if on_tick is not None:
                on_tick(self.next)
            self.next += self.tick


def _times(stamps: list[float]) -> list[float]:
    """The times to cut batches by: each row's, or the latest so far where rows are out
    of order (a row earlier than the next tick never starts a batch)."""
    return stamps if stamps == sorted(stamps) else list(accumulate(stamps, max))
