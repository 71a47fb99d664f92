"""Arrival order for readings without a payload time.

Such a reading takes its receive time, and the store keeps one reading per series and
millisecond. A burst, or the backlog a broker replays when a session resumes, delivers
many readings of one series within a millisecond, so each one here gets the receive
time in milliseconds, bumped to 1 ms after the previous such reading of its series: all
are kept, in arrival order, and the rules see the times the store holds. Readings with a
payload time are left as they are (a repeat of one is a duplicate or a conflict). A
receive time more than ``MAX_BUMP_MS`` before the last one of its series (the gateway's
clock stepped back) is taken as it is rather than squeezed after it; the store still
keeps it if its millisecond is taken (sensors/store/insert.py).
"""

from __future__ import annotations

from gatewatch.core.reading import Reading

MAX_SERIES = 100_000  # forgotten beyond this; the store still keeps every reading
MAX_BUMP_MS = 60_000


class ArrivalOrder:
    """Per-series monotonic receive times; used from the event loop only."""

    def __init__(self) -> None:
        self._last_ms: dict[tuple[str, str, str], int] = {}

    def order(self, readings: list[Reading], backlog: bool = False) -> list[Reading]:
        """The readings with receive times in arrival order; ``backlog``: they came in a
        resumed session's backlog (sensors/backlog.py), so those are marked too."""
        last = self._last_ms
        if len(last) >= MAX_SERIES:
            last.clear()
        out = []
        for r in readings:
            if r.received:
                key = (r.site, r.asset, r.metric)
                ms = round(r.ts * 1000)
                prev = last.get(key)
                if prev is not None and prev - MAX_BUMP_MS < ms <= prev:
                    ms = prev + 1
                last[key] = ms
                if ms / 1000 != r.ts or backlog:
                    out.append(_restamped(r, ms / 1000, backlog))
                    continue
            out.append(r)
        return out


def _restamped(r: Reading, ts: float, backlog: bool) -> Reading:
    return Reading(r.site, r.asset, r.metric, ts, r.value, r.unit, True, backlog)
