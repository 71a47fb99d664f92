from __future__ import annotations

import math

import numpy as np
from gatewatch.anomaly.trend import DAY_S
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
