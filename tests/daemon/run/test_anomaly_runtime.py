"""Anomaly models in the daemon: warm-up from the store, then a degrading pump's
forecast goes through the shipped predictive rule and becomes a P3 event."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
from gatewatch.anomaly.wear.simulate import PumpSim, simulate
from gatewatch.core.events import AlertEvent, EventKind
from gatewatch.core.reading import Reading
from gatewatch.core.signals import DAYS_TO_ZONE_C
from gatewatch.daemon.config.anomaly import AnomalySettings
from gatewatch.daemon.config.assets import load_assets
from gatewatch.daemon.config.rulefiles import load_rule_files
from gatewatch.daemon.run.anomaly_runtime import NO_FORECAST, AnomalyRuntime
from gatewatch.rules.engine import Engine
from gatewatch.sensors.store.sqlite import SqliteStore
from gatewatch.ticketing_client.adapters.local import LocalAdapter, attachments_of
from gatewatch.ticketing_client.attachments import MAX_BYTES
from gatewatch.ticketing_client.schema import connect_state
from gatewatch.ticketing_client.service import Ticketing
from gatewatch.ticketing_client.worker import Worker

CONFIG = Path(__file__).parents[3] / "config"
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


def degrading_run(tmp_path: Path) -> tuple[AnomalyRuntime, list[AlertEvent], int, PumpSim]:
    """A pump degrading 2 %/day; gatewatch restarts on day 20 (warm-up from the store).

    Returns the runtime, the fired events and how many zone C forecasts were made."""
    # healthy for 15 days, then 2 %/day from 1.6 mm/s: zone C (2.8 mm/s, class II)
    # about 28 days after the onset
    sim = PumpSim(growth_per_day=0.02, onset_day=15)
    history = readings(sim, 20, START, seed=1)
    store = SqliteStore(tmp_path / "readings.db", tmp_path / "state.db")
    store.write(history, [])
    store.close()
    stage = AnomalyRuntime(AnomalySettings())
    replayed = stage.warm_up(tmp_path / "readings.db", tmp_path / "state.db", now=START + 20 * DAY)
    assert replayed == len(history)

    engine = pump_rules_engine()
    live = [r for r in readings(sim, 45, START, seed=1) if r.ts >= START + 20 * DAY]
    fired, forecasts = [], 0
    for r in live:
        signals = stage.on_readings([r])
        forecasts += sum(s.metric.endswith(DAYS_TO_ZONE_C) for s in signals)
        fired += [e for e in engine.process([r, *signals], now=r.ts) if e.kind == "fired"]
    return stage, fired, forecasts, sim


def test_warm_up_then_degrading_pump_raises_one_predictive_p3(tmp_path: Path) -> None:
    _, fired, forecasts, sim = degrading_run(tmp_path)
    zone_c_day = START + sim.day_reaching(2.8) * DAY
    assert forecasts, "no forecast after a warm-up of 20 days"
    assert [e.rule_id for e in fired] == ["pump-zone-c-forecast"]
    ev = fired[0]
    assert ev.priority == 3 and ev.predictive and ev.asset is not None
    assert (zone_c_day - ev.ts) / DAY >= 7, "predictive ticket less than 7 days ahead"
    assert "zone C forecast" in ev.body.lower() or "Zone C forecast" in ev.body
    assert ev.attachments == ()  # rules/ never attaches anything


def test_predictive_ticket_carries_the_trend_plot_to_the_desk(tmp_path: Path) -> None:
    """Incident 7: the forecast's plot goes with the event into the outbox, then to the
    desk (the local backend keeps it beside the ticket)."""
    stage, [ev], _, _ = degrading_run(tmp_path)
    [with_plot] = stage.with_evidence([ev])
    [plot] = with_plot.attachments
    assert (plot.name, plot.content_type, plot.description) == (
        "trend.png",
        "image/png",
        "trend plot",
    )
    assert plot.data.startswith(b"\x89PNG\r\n\x1a\n") and len(plot.data) < MAX_BYTES
    assert plot.data == stage.pipeline.trackers[("hq", "pump-1")].trend_png()
    resolved = replace(ev, kind=EventKind.RESOLVED)
    assert stage.with_evidence([resolved]) == [resolved]  # only what opens a ticket

    conn = connect_state(tmp_path / "state.db")
    tickets = Ticketing(conn, threading.Lock(), Worker(conn, LocalAdapter(conn)))
    tickets.submit([with_plot])
    assert asyncio.run(tickets.worker.drain(10))
    [(ticket_id,)] = conn.execute("SELECT id FROM local_tickets").fetchall()
    assert attachments_of(conn, ticket_id) == [plot]


def test_healthy_pump_after_warm_up_raises_nothing(tmp_path: Path) -> None:
    sim = PumpSim()
    store = SqliteStore(tmp_path / "readings.db", tmp_path / "state.db")
    store.write(readings(sim, 20, START, seed=2), [])
    store.close()
    stage = AnomalyRuntime(AnomalySettings())
    stage.warm_up(tmp_path / "readings.db", tmp_path / "state.db", now=START + 20 * DAY)
    engine = pump_rules_engine()
    live = [r for r in readings(sim, 60, START, seed=2) if r.ts >= START + 20 * DAY]
    events = []
    for r in live:
        events += engine.process([r, *stage.on_readings([r])], now=r.ts)
    assert [e for e in events if e.rule_id == "pump-zone-c-forecast"] == []


def test_the_configured_model_is_the_one_each_asset_trains() -> None:
    from gatewatch.anomaly.models import AssetModel
    from gatewatch.anomaly.similarity import SimilarityModel

    for name, cls in (("covariance", AssetModel), ("similarity", SimilarityModel)):
        stage = AnomalyRuntime(AnomalySettings(model=name))
        scorer = stage.pipeline.scorer("hq", "pump-1")
        assert scorer.model_factory is cls


def test_predictive_ticket_without_a_forecast_says_why_the_plot_is_missing(
    tmp_path: Path,
) -> None:
    """Right after a restart no forecast exists yet: the ticket text says the plot is
    missing and why, instead of the dispatcher looking for an attachment."""
    _, [ev], _, _ = degrading_run(tmp_path)
    fresh = AnomalyRuntime(AnomalySettings())  # no tracker for the pump: nothing replayed
    [noted] = fresh.with_evidence([ev])
    assert noted.attachments == ()
    assert noted.title == ev.title
    assert noted.body.startswith(ev.body) and noted.body.endswith(NO_FORECAST)

    conn = connect_state(tmp_path / "state.db")
    tickets = Ticketing(conn, threading.Lock(), Worker(conn, LocalAdapter(conn)))
    tickets.submit([noted])
    assert asyncio.run(tickets.worker.drain(10))
    notes = [text for (text,) in conn.execute("SELECT text FROM local_ticket_notes")]
    assert any("Trend plot: not attached" in t and "no degradation forecast" in t for t in notes)
