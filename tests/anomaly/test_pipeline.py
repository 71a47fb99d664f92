from __future__ import annotations

import math
import tracemalloc
from collections.abc import Mapping

import numpy as np
import pytest
from gatewatch.anomaly.pipeline import AnomalyPipeline
from gatewatch.anomaly.scorer import AssetScorer
from gatewatch.anomaly.trend import DAY_S
from gatewatch.anomaly.wear.degradation import DegradationConfig
from gatewatch.anomaly.wear.simulate import PumpSim, simulate
from gatewatch.anomaly.wear.zones import limits_for
from gatewatch.core.signals import ANOMALY_SCORE, DAYS_TO_ZONE_C, DerivedSignal

START = 1_700_006_400.0


def pump_config(asset: str) -> DegradationConfig | None:
    return DegradationConfig(limits_for("II")) if asset.startswith("pump") else None


def test_degrading_pump_readings_become_anomaly_scores_and_a_zone_c_forecast() -> None:
    sim = PumpSim(growth_per_day=0.03, onset_day=20, step_s=600.0)
    ts, rms = simulate(sim, 40, START, np.random.default_rng(3))
    pipe = AnomalyPipeline(
        pump_config, scorer_factory=lambda s, a: AssetScorer(s, a, min_rows=3 * 144)
    )
    signals = []
    for t, v in zip(ts, rms, strict=True):
        signals += pipe.on_reading("hq", "pump-1", "vibration.rms", float(t), float(v))
        signals += pipe.on_reading("hq", "pump-1", "vibration.peak", float(t), float(3 * v))
        signals += pipe.on_reading("hq", "pump-1", "humidity", float(t), 40.0)  # ignored
    signals += pipe.tick(START + 41 * DAY_S)
    scores = [s for s in signals if s.metric == ANOMALY_SCORE]
    forecasts = [s for s in signals if s.metric == DAYS_TO_ZONE_C]
    assert scores and min(s.ts for s in scores) >= START + 3 * DAY_S  # scorer cold start
    assert forecasts and min(s.ts for s in forecasts) >= START + 14 * DAY_S  # trend cold start
    assert math.isfinite(forecasts[-1].value) and forecasts[-1].value < 30
    assert max(s.value for s in scores[-50:]) > 1  # the rise is unusual against the model
    assert "trained on" in pipe.status()["hq/pump-1"]


def test_non_pump_assets_get_no_trend_and_late_readings_are_counted() -> None:
    pipe = AnomalyPipeline(pump_config)
    assert pipe.on_reading("hq", "lift-a1", "door_close_time", START + 700, 4.0) == []
    assert pipe.on_reading("hq", "lift-a1", "door_close_time", START + 10, 4.0) == []
    assert pipe.late == 1
    assert pipe.trackers[("hq", "lift-a1")] is None
    assert pipe.tick(START + 1300) == []  # scorer still in cold start
    assert pipe.status()["hq/lift-a1"].startswith("scorer cold start: 1 of")


def test_incident_7_pump_ten_days_from_zone_c_gets_its_forecast_with_evidence() -> None:
    """DESIGN.md incident 7: trend crosses into zone C in ~10 days -> predictive signal now."""
    sim = PumpSim(growth_per_day=0.02, onset_day=20, step_s=600.0)
    reach = sim.day_reaching(2.8)
    ts, rms = simulate(sim, reach - 10, START, np.random.default_rng(7))
    pipe = AnomalyPipeline(pump_config)
    for t, v in zip(ts, rms, strict=True):
        pipe.on_reading("hq", "pump-1", "vibration.rms", float(t), float(v))
    now = START + math.ceil(reach - 10) * DAY_S
    signals = [
        s
        for s in pipe.on_reading("hq", "pump-1", "vibration.rms", now, 2.2)
        if s.metric == DAYS_TO_ZONE_C
    ]
    assert len(signals) == 1
    sig = signals[0]
    assert 5 <= sig.value <= 16, sig.value  # truth: ~10 days
    ev = sig.evidence
    assert ev["current_zone"] == "B"
    assert 1.0 <= float(ev["trend_pct_per_day"]) <= 3.5
    truth = START + reach * DAY_S
    forecast_day = np.datetime64(str(ev["forecast_date"]))
    truth_day = np.datetime64(int(truth), "s").astype("datetime64[D]")
    assert abs(int((forecast_day - truth_day).astype(int))) <= 6
    early, late = str(ev["forecast_band"]).split(" .. ")
    assert np.datetime64(early) <= forecast_day <= np.datetime64(late)


def test_temperature_residual_uses_the_learnt_hour_of_day_profile() -> None:
    captured: list[dict[str, float]] = []

    class Spy:  # stands in for AssetScorer: records what the pipeline hands it
        status = "spy"

        def __init__(self, site: str, asset: str) -> None:
            self.site, self.asset = site, asset

        def observe(self, ts: float, features: Mapping[str, float]) -> list[DerivedSignal]:
            captured.append(dict(features))
            return []

    pipe = AnomalyPipeline(pump_config, scorer_factory=Spy)
    for day in range(5):
        for minute in range(0, 24 * 60, 10):
            ts = START + day * DAY_S + minute * 60
            temp = 20 + 4 * math.sin(2 * math.pi * minute / 1440) + (3.0 if day == 4 else 0.0)
            pipe.on_reading("hq", "ahu-1", "temperature", ts, temp)
    pipe.tick(START + 6 * DAY_S)
    residuals = [f["temperature_residual"] for f in captured if "temperature_residual" in f]
    assert len(residuals) > 200  # after 3 days each hour has a profile
    assert abs(float(np.median(residuals[:-144]))) < 0.5  # normal days follow the profile
    assert float(np.median(residuals[-144:])) == pytest.approx(3.0, abs=0.6)  # day 5 runs 3 C hot


def test_an_open_window_holds_its_readings_packed() -> None:
    """16 bytes a reading while the window is open (two lists of floats took 64)."""
    pipe = AnomalyPipeline(lambda asset: None)
    tracemalloc.start()
    try:
        for s in range(599):
            for m in range(100):
                pipe.on_reading("hq", "a1", f"m{m}", 1_700_006_400.0 + s, 2.0 + s * 1e-3)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held < 100 * 599 * 16 * 1.5  # 0.96 MB of readings, some slack for the arrays
