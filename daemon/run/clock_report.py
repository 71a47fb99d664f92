"""What the rule engine did with readings whose time went backwards, told to people.

The engine counts readings dropped as out of order (older than their series'
latest by less than ``CLOCK_STEP_S``) and clock steps: a reading further back
(its series starts over from the new time) or the gateway clock going back as
far (every timer moves back with it). This keeps the totals for /metrics and logs
each kind the first time it happens, then at most once per ``every`` seconds
with the count since the last line, so a device with a wrong clock neither
floods the journal nor goes unnoticed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import structlog
from gatewatch.rules.engine import CLOCK_STEP_S

log = structlog.get_logger("gatewatch.alerting")
KINDS = ("out_of_order", "clock_steps")


class ClockReport:
    def __init__(self, every: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self.clock = every, clock
        self.totals: dict[str, int] = dict.fromkeys(KINDS, 0)  # replaced, never mutated
        self._logged: dict[str, int] = dict.fromkeys(KINDS, 0)  # totals at the last line
        self._last_line: dict[str, float] = {}

    def update(self, stats: Mapping[str, int], last_step: tuple[str, float, float] | None) -> None:
        """After an evaluation: ``stats`` and ``last_step`` are the engine's."""
        totals = {kind: stats.get(kind, 0) for kind in KINDS}
        if totals == self.totals:
            return
        self.totals = totals
        now = self.clock()
        for kind in KINDS:
            new = totals[kind] - self._logged[kind]
            last = self._last_line.get(kind)
            if new > 0 and (last is None or now - last >= self.every):
                self._logged[kind], self._last_line[kind] = totals[kind], now
                self._log(kind, new, last_step)

    @staticmethod
    def _log(kind: str, new: int, last_step: tuple[str, float, float] | None) -> None:
        if kind == "out_of_order":
            log.warning(
                "readings_out_of_order",
                readings=new,
                note=f"older than their series' latest reading by less than {CLOCK_STEP_S:.0f}"
                " s: stored, but not evaluated by the rules; check the device clocks, or"
                " readings resent out of order",
            )
            return
        series, before, after = last_step if last_step is not None else ("", 0.0, 0.0)
        log.warning(
            "clock_step",
            series_started_over=new,
            series=series,
            latest_before=before,
            reading_ts=after,
            step_s=round(after - before, 3),  # negative: back
            note="a clock stepped (NTP, a clock corrected): a series whose time went back"
            " starts its rule history over from the new time; for the gateway clock every"
            " timer (for, clear_for, stale, reminders) moves with it; alerts are kept",
        )
