"""Anomaly stage in the daemon: warm-up from the store, then a degrading pump's
forecast goes through the shipped predictive rule and becomes a P3 event."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gatewatch.anomaly.signals import DAYS_TO_ZONE_C
from gatewatch.anomaly.simulate import PumpSim, simulate
from gatewatch.daemon.anomaly_config import AnomalySettings
from gatewatch.daemon.anomaly_stage import AnomalyStage
from gatewatch.daemon.rulefiles import load_rule_files
from gatewatch.rules.engine import Engine
from gatewatch.sensors.assets import load_assets
from gatewatch.sensors.reading import Reading
from gatewatch.sensors.store.sqlite import SqliteStore

CONFIG = Path(__file__).parents[2] / "config"
DAY = 86_400.0
START = 1_760_000_000.0


def readings(sim: PumpSim, days: float, start: float, seed: int) -> list[Reading]:
    ts, rms = simulate(sim, days, start, np.random.default_rng(seed))
    return [
        Reading("hq", "pump-1", "vibration.rms", float(t), float(v))
        for t, v in zip(ts, rms, strict=True)
    ]


def pump_rules_engine() -> Engine:
    assets = load_assets(CONFIG / "assets.yaml")
    rules = load_rule_files([CONFIG / "rules" / "pumps.yaml"], assets)
    return Engine(rules, assets, default_site="hq")


def test_warm_up_then_degrading_pump_raises_one_predictive_p3(tmp_path: Path) -> None:
    # healthy for 15 days, then 2 %/day from 1.6 mm/s: zone C (2.8 mm/s, class II)
    # about 28 days after the onset; gatewatch restarts on day 20 (warm-up)
    sim = PumpSim(growth_per_day=0.02, onset_day=15)
    history = readings(sim, 20, START, seed=1)
    store = SqliteStore(tmp_path / "readings.db", tmp_path / "state.db")
    store.write(history, [])
    store.close()
    stage = AnomalyStage(AnomalySettings())
    replayed = stage.warm_up(tmp_path / "readings.db", tmp_path / "state.db", now=START + 20 * DAY)
    assert replayed == len(history)

    engine = pump_rules_engine()
    live = [r for r in readings(sim, 45, START, seed=1) if r.ts >= START + 20 * DAY]
    fired, forecasts = [], []
    for r in live:
        signals = stage.on_readings([r])
        forecasts += [s for s in signals if s.metric.endswith(DAYS_TO_ZONE_C)]
        fired += [e for e in engine.process([r, *signals], now=r.ts) if e.kind == "fired"]
    zone_c_day = START + sim.day_reaching(2.8) * DAY
    assert forecasts, "no forecast after a warm-up of 20 days"
    assert [e.rule_id for e in fired] == ["pump-zone-c-forecast"]
    ev = fired[0]
    assert ev.priority == 3 and ev.predictive and ev.asset is not None
    assert (zone_c_day - ev.ts) / DAY >= 7, "predictive ticket less than 7 days ahead"
    assert "zone C forecast" in ev.body.lower() or "Zone C forecast" in ev.body


def test_healthy_pump_after_warm_up_raises_nothing(tmp_path: Path) -> None:
    sim = PumpSim()
    store = SqliteStore(tmp_path / "readings.db", tmp_path / "state.db")
    store.write(readings(sim, 20, START, seed=2), [])
    store.close()
    stage = AnomalyStage(AnomalySettings())
    stage.warm_up(tmp_path / "readings.db", tmp_path / "state.db", now=START + 20 * DAY)
    engine = pump_rules_engine()
    live = [r for r in readings(sim, 60, START, seed=2) if r.ts >= START + 20 * DAY]
    events = []
    for r in live:
        events += engine.process([r, *stage.on_readings([r])], now=r.ts)
    assert [e for e in events if e.rule_id == "pump-zone-c-forecast"] == []
