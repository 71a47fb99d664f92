"""Weeks of pump history for `gatewatch demo`, so that the predictive incident plays live.

A degradation forecast needs weeks of daily vibration levels, and the
predictive rule wants three daily forecasts in a row inside its horizon; a
demo of a minute cannot grow that. So the demo starts as a gateway that has
been running for weeks: before the live part, its store gets the hourly
vibration history of the three pumps (simulated by anomaly/wear/simulate.py, one
pump degrading) and its rule state what the real engine made of the daily
forecasts of those weeks (the predictive alert pending for two days). The
live part starts a minute before a UTC midnight; the day's forecast, made by
the live anomaly stage from the warmed-up history, is the third in a row and
the P3 ticket opens.

``plan`` is pure (simulation, the daemon's own DegradationTracker); ``seed``
writes the store in one transaction and the rule state through RulesRuntime.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
from gatewatch.anomaly.wear.simulate import PumpSim, simulate
from gatewatch.anomaly.wear.tracker import DegradationTracker
from gatewatch.core.reading import Reading
from gatewatch.core.signals import DAYS_TO_ZONE_C, DerivedSignal
from gatewatch.daemon.config.anomaly import AnomalySettings
from gatewatch.daemon.config.load import Config
from gatewatch.daemon.run.rules_runtime import RulesRuntime, RulesSettings
from gatewatch.sensors.store.sqlite import SqliteStore

DAY = 86_400.0
LEAD_S = 60.0  # the live part starts this long before a UTC midnight (one real second)
STEP_S = 3600.0  # one history reading an hour (a forecast needs 12 a day)
PHASE_S = 30.0  # history readings this far past the hour: the live forecast comes first
CONFIRM = 3  # the predictive rule's `for: 2d`: three daily forecasts in a row
RMS, PEAK, CREST = "vibration.rms", "vibration.peak", 2.9
# pump-1 and pump-2 healthy; pump-3's bearing wears from day 10: +2 %/day
PUMPS = (
    ("pump-1", PumpSim(base_rms=1.1)),
    ("pump-2", PumpSim(base_rms=1.4)),
    ("pump-3", PumpSim(base_rms=1.6, growth_per_day=0.02, onset_day=10.0)),
)
DEGRADING = "pump-3"


@dataclass(frozen=True, slots=True)
class PumpHistory:
    start: float  # building time the live part starts at
    days: int  # days of history before it
    readings: tuple[Reading, ...]  # every pump, in time order
    signals: tuple[DerivedSignal, ...]  # the daily forecasts of those days, in time order
    levels: dict[str, float]  # each pump's last RMS: the live simulation goes on from it
    live_days_to_c: float  # what the degrading pump's live forecast will say


def live_start(now: float) -> float:
    """A minute before the last UTC midnight: building time stays behind the wall clock."""
    return math.floor(now / DAY) * DAY - LEAD_S


def plan(
    site: str,
    start: float,
    settings: AnomalySettings,
    *,
    seed: int = 7,
    max_days: int = 45,
) -> PumpHistory:
    """The history that makes the live forecast at ``start + LEAD_S`` the third in a row."""
    midnight = start + LEAD_S
    sims = _simulate(midnight - max_days * DAY, max_days, seed)
    degrading, live = _until_confirmed(site, *sims[DEGRADING], settings)
    shift = midnight - math.floor(live.ts / DAY) * DAY  # whole days: midnights stay midnights
    healthy = [
        s
        for a, (ts, v) in sims.items()
        if a != DEGRADING
        for s in _forecasts(site, a, ts, v, settings, until=start - shift)
    ]
    readings = [r for a, (ts, v) in sims.items() for r in _readings(site, a, ts + shift, v, start)]
    readings.sort(key=lambda r: r.ts)
    signals = [replace(s, ts=s.ts + shift) for s in [*degrading, *healthy]]
    return PumpHistory(
        start=start,
        days=round((midnight - readings[0].ts) / DAY),
        readings=tuple(readings),
        signals=tuple(sorted(signals, key=lambda s: s.ts)),
        levels=_levels(readings, start),
        live_days_to_c=live.value,
    )


def _simulate(origin: float, days: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Hourly RMS of each pump from ``origin`` (a midnight), readings PHASE_S past the hour."""
    rng = np.random.default_rng(seed)
    return {
        asset: simulate(replace(sim, step_s=STEP_S), days, origin + PHASE_S, rng)
        for asset, sim in PUMPS
    }


def _levels(readings: list[Reading], start: float) -> dict[str, float]:
    """Each pump's median RMS over the last day: where the live simulation goes on."""
    last_day = [r for r in readings if r.metric == RMS and r.ts >= start - DAY]
    assets = sorted({r.asset for r in last_day})
    return {a: float(np.median([r.value for r in last_day if r.asset == a])) for a in assets}


def _forecasts(
    site: str,
    asset: str,
    ts: np.ndarray,
    values: np.ndarray,
    settings: AnomalySettings,
    *,
    until: float = math.inf,
) -> Iterator[DerivedSignal]:
    """The daily signals the daemon's tracker makes from these readings (before ``until``)."""
    tracker = DegradationTracker(site, asset, settings.degradation(asset))
    for t, v in zip(ts.tolist(), values.tolist(), strict=True):
        if t >= until:
            return
        yield from tracker.poll(t)[0]
        tracker.observe(RMS, t, v)


def _until_confirmed(
    site: str, ts: np.ndarray, values: np.ndarray, settings: AnomalySettings
) -> tuple[list[DerivedSignal], DerivedSignal]:
    """The signals before the forecast completing CONFIRM in a row inside the horizon,
    and that forecast (the one the live part will make)."""
    before: list[DerivedSignal] = []
    run = 0
    for s in _forecasts(site, DEGRADING, ts, values, settings):
        if s.metric == DAYS_TO_ZONE_C:
            run = run + 1 if s.value <= settings.horizon_days else 0
            if run == CONFIRM:
                return before, s
        before.append(s)
    raise ValueError(f"{DEGRADING}'s simulated history never forecasts zone C in time")


def _readings(
    site: str, asset: str, ts: np.ndarray, values: np.ndarray, start: float
) -> list[Reading]:
    """RMS and peak before the live start, and one more just before it (no site gap)."""
    keep = ts < start
    pairs = list(zip(ts[keep].tolist(), values[keep].tolist(), strict=True))
    pairs.append((start - PHASE_S, pairs[-1][1]))
    return [
        Reading(site, asset, metric, t, round(v * k, 3), "mm/s")
        for t, v in pairs
        for metric, k in ((RMS, 1.0), (PEAK, CREST))
    ]


@dataclass(frozen=True, slots=True)
class SeedReport:
    days: int
    readings: int
    history_events: int  # alert events the history itself raised (none by design)
    seconds: float  # writing the store and the rule state
    plan_seconds: float = 0.0  # simulating the history and its forecasts (plan)


def seed(cfg: Config, history: PumpHistory) -> SeedReport:
    """The store (one transaction) and the rule state of a gateway that ran those weeks."""
    started = time.perf_counter()
    store = SqliteStore(cfg.store.path, cfg.state_db, synchronous=cfg.store.synchronous)
    try:
        store.write(history.readings, [])
    finally:
        store.close()
    events = _rule_state(cfg, [*history.readings, *history.signals])
    seconds = time.perf_counter() - started
    return SeedReport(history.days, len(history.readings), events, seconds)


def _rule_state(cfg: Config, items: Sequence[Reading | DerivedSignal]) -> int:
    """Run the real rules over the history at its own timestamps; save the engine state."""
    rules = cfg.rules
    settings = RulesSettings(paths=list(rules.paths), silences_file=rules.silences_file)
    start = max(i.ts for i in items)
    runtime = RulesRuntime(settings, cfg.assets, cfg.state_db, site=cfg.site, clock=lambda: start)
    runtime.start()
    events = runtime.on_readings(sorted(items, key=lambda i: i.ts))
    runtime.stop()
    return len(events)
