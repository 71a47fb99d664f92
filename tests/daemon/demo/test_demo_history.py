"""The demo's seeded pump history: it sets up incident 7 to play in the live part."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from gatewatch.core.reading import Reading
from gatewatch.daemon.demo.history import (
    DAY,
    DEGRADING,
    LEAD_S,
    PHASE_S,
    PumpHistory,
    live_start,
    plan,
    seed,
)
from gatewatch.daemon.demo.runner import demo_config
from gatewatch.daemon.run.anomaly_runtime import AnomalyRuntime
from gatewatch.daemon.run.rules_runtime import RulesRuntime, RulesSettings
from gatewatch.sensors.store.sqlite import connect_reader

NOW = 1_795_000_000.0  # 2026-11-17 10:26:40 UTC
HORIZON = 30.0


@pytest.fixture(scope="module")
def history() -> PumpHistory:
    cfg = demo_config(Path("/nonexistent"), 1)
    return plan("demo", live_start(NOW), cfg.anomaly)


def days_to_c(history: PumpHistory, asset: str) -> list[tuple[float, float]]:
    return [
        (s.ts, s.value)
        for s in history.signals
        if s.asset == asset and s.metric == "days_to_zone_c"
    ]


def test_history_ends_a_minute_before_midnight_with_two_forecasts_inside_the_horizon(
    history: PumpHistory,
) -> None:
    midnight = history.start + LEAD_S
    assert midnight % DAY == 0 and 0 < NOW - history.start < DAY + LEAD_S
    assert history.days >= 14  # the forecast's cold start is over
    assert all(r.ts < history.start for r in history.readings)
    for asset in ("pump-1", "pump-2", DEGRADING):  # no gap the site-offline rule would see
        last = max(r.ts for r in history.readings if r.asset == asset)
        assert history.start - last <= PHASE_S
    forecasts = days_to_c(history, DEGRADING)
    (_, before), (t2, d2), (t3, d3) = forecasts[-3:]
    assert before > HORIZON and d2 <= HORIZON and d3 <= HORIZON
    assert (t2, t3) == (midnight - 2 * DAY + PHASE_S, midnight - DAY + PHASE_S)
    assert history.live_days_to_c <= HORIZON
    assert history.levels[DEGRADING] > history.levels["pump-2"] > history.levels["pump-1"]


def test_healthy_pumps_never_forecast_zone_c_inside_the_horizon(history: PumpHistory) -> None:
    for asset in ("pump-1", "pump-2"):
        values = [v for _, v in days_to_c(history, asset)]
        assert len(values) >= 3 and all(v > HORIZON for v in values), (asset, values)


def test_seeded_gateway_fires_the_predictive_alert_on_the_live_forecast_only(
    tmp_path: Path, history: PumpHistory
) -> None:
    cfg = demo_config(tmp_path, 1)
    report = seed(cfg, history)
    assert (report.days, report.readings, report.history_events) == (
        history.days,
        len(history.readings),
        0,
    )
    with connect_reader(cfg.store.path, cfg.state_db) as conn:
        [(stored,)] = conn.execute("SELECT COUNT(*) FROM readings")
    assert stored == len(history.readings)
    # the live part: a restarted daemon restores the rules and warms up the anomaly stage
    now = [history.start]
    settings = RulesSettings(paths=list(cfg.rules.paths))
    runtime = RulesRuntime(settings, cfg.assets, cfg.state_db, site="demo", clock=lambda: now[0])
    runtime.start()
    [(key, status, since)] = runtime.engine.active() if runtime.engine else []
    assert key.startswith("pump-zone-c-forecast:demo/pump-3") and status == "pending"
    assert since == history.start + LEAD_S - 2 * DAY + PHASE_S
    anomaly = AnomalyRuntime(cfg.anomaly)
    assert anomaly.warm_up(cfg.store.path, cfg.state_db, now=history.start) > 0
    assert runtime.on_tick() == []  # a minute before midnight: still pending
    fired = []
    for minute in range(3):  # live readings of each pump across midnight
        now[0] = history.start + LEAD_S + 15 + 30 * minute
        live = [Reading("demo", f"pump-{i}", "vibration.rms", now[0], 1.5) for i in (1, 2, 3)]
        signals = anomaly.on_readings(live)
        fired += runtime.on_readings([*live, *signals]) + runtime.on_tick()
    [event] = fired
    assert event.incident_key.startswith("pump-zone-c-forecast:demo/pump-3")
    # the plan's forecast, give or take the tail reading that closes the gap to the live part
    assert event.priority == 3 and math.isclose(
        event.value or 0, history.live_days_to_c, abs_tol=0.5
    )
    runtime.stop()
