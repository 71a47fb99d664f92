from __future__ import annotations

import math

import numpy as np
import pytest
from gatewatch.anomaly.trend import DAY_S, daily_levels
from gatewatch.anomaly.wear.degradation import DegradationConfig, forecast
from gatewatch.anomaly.wear.simulate import PumpSim, simulate
from gatewatch.anomaly.wear.tracker import DegradationTracker
from gatewatch.anomaly.wear.zones import limits_for
from gatewatch.core.signals import DAYS_TO_ZONE_C

CFG = DegradationConfig(limits_for("II"))
START = 1_700_006_400.0


def test_tracker_streaming_matches_the_batch_forecast_once_a_day() -> None:
    sim = PumpSim(growth_per_day=0.02, onset_day=5)
    ts, v = simulate(sim, 40, START, np.random.default_rng(4))
    tracker = DegradationTracker("hq", "pump-1", CFG)
    emitted = []
    for t, value in zip(ts, v, strict=True):
        sigs, _ = tracker.poll(float(t))
        emitted.extend(sigs)
        tracker.observe("vibration.rms", float(t), float(value))
        tracker.observe("vibration.peak", float(t), float(3 * value))
    now = START + 40 * DAY_S
    sigs, fc = tracker.poll(now)
    assert fc is not None
    batch = forecast(ts, v, CFG, now)
    assert fc.days_to_c[0] == batch.days_to_c[0]
    assert sigs[0].metric == DAYS_TO_ZONE_C
    assert "vibration" in str(sigs[0].evidence["top_features"])
    days_with_signals = {math.floor(s.ts / DAY_S) for s in emitted}
    assert len(days_with_signals) == 40 - CFG.min_days + 1 - 1  # one per day after cold start
    assert tracker.poll(now + 60) == ([], None)  # same day: nothing new
    png = tracker.trend_png()
    assert png is not None and png.startswith(b"\x89PNG")


def test_tracker_cold_start_says_why_and_ignores_garbage() -> None:
    tracker = DegradationTracker("hq", "pump-1", CFG)
    for i in range(3 * 144):
        tracker.observe("vibration.rms", START + i * 600, 1.5)
    tracker.observe("vibration.rms", START, math.nan)
    tracker.observe("vibration.rms", START, -1.0)
    tracker.observe("humidity", START, 40.0)
    sigs, fc = tracker.poll(START + 3 * DAY_S)
    assert sigs == []
    assert fc is not None and fc.state == "cold_start"
    assert tracker.status.startswith("cold_start: history: 3 of 14 days")
    assert tracker.ignored == 3
    assert tracker.trend_png() is None


def test_tracker_memory_is_bounded_by_the_window() -> None:
    tracker = DegradationTracker("hq", "pump-1", CFG)
    for i in range(100 * 24):
        tracker.observe("vibration.rms", START + i * 3600, 1.5)
    tracker.poll(START + 100 * DAY_S)
    assert len(tracker.metrics["vibration.rms"].levels) <= CFG.window_days


def test_tracker_keeps_one_mean_a_minute_at_1_hz_and_the_daily_level_holds() -> None:
    """A day at 1 Hz (86,400 readings) is held in two fixed arrays of 1440 minutes
    (no growth through the day), and the day's level (median of per-minute means)
    stays within 1 % of the raw median, a two-hour fault burst at 3x included."""
    rng = np.random.default_rng(7)
    ts = START + np.arange(86_400, dtype=np.float64)
    v = 2.0 * rng.lognormal(0.0, 0.1, ts.size)
    v[30_000:37_200] *= 3.0
    tracker = DegradationTracker("hq", "pump-1", CFG)
    series = tracker.metrics["vibration.rms"]
    held = set()
    for i, (t, value) in enumerate(zip(ts.tolist(), v.tolist(), strict=True)):
        tracker.observe("vibration.rms", t, value)
        if i % 3600 == 0:
            assert series.sums is not None and series.counts is not None
            held.add(series.sums.nbytes + series.counts.nbytes)
    assert held == {1440 * 12}  # 17 KiB from the first reading to the last
    tracker.poll(START + DAY_S)
    raw = daily_levels(ts, v, min_per_day=CFG.min_per_day)
    assert series.levels[0] == pytest.approx(float(raw.level[0]), rel=0.01)
    assert series.counts is not None and int(series.counts.sum()) == 0  # reset for the next day


def test_tracker_out_of_order_minutes_of_the_day_keep_their_own_means() -> None:
    tracker = DegradationTracker("hq", "pump-1", CFG)
    for i in range(600):  # alternating between the first hour and the second, 1.0 and 3.0
        tracker.observe("vibration.rms", START + (i % 2) * 3600 + i, 1.0 + 2 * (i % 2))
    series = tracker.metrics["vibration.rms"]
    assert series.sums is not None and series.counts is not None
    assert series.sums.size == 1440 and int(series.counts.sum()) == 600
    tracker.poll(START + DAY_S)
    assert series.levels == [pytest.approx(2.0)]  # 10 minutes of 1.0, 10 of 3.0
