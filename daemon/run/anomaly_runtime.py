"""The anomaly models inside the daemon: readings -> AnomalyPipeline -> derived signals.

The I/O around the pure pipeline, in one object (the stage that runs it is
:mod:`gatewatch.daemon.run.anomaly_stage`).

The pipeline is pure and keeps its history in memory; after a restart it is
warmed up from the local store (the vibration history the degradation
forecast needs, ``window_days`` back), so a restart does not mean two weeks
of cold start. Signals produced while warming up describe the past and are
dropped; the next daily forecast speaks for the present. Trained models are
kept in the state database (:mod:`gatewatch.daemon.state.anomaly_models`) and
offered back at start, so the multivariate scorers need no new cold start.

A predictive event that opens a ticket gets its evidence attached here (the
trend plot of the forecast that fired it, ``trend.png``), on its way from the
rules to the ticketing outbox (``with_evidence``, which the tickets stage is
given): rules/ stays pure and never sees the bytes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import structlog
from gatewatch.anomaly.pipeline import AnomalyPipeline
from gatewatch.anomaly.scorer import MODELS, AssetScorer
from gatewatch.core.events import AlertEvent, Attachment, EventKind, EventText
from gatewatch.core.reading import Reading
from gatewatch.core.signals import DerivedSignal
from gatewatch.daemon.config.anomaly import AnomalySettings
from gatewatch.daemon.state.anomaly_models import ModelStore
from gatewatch.sensors.store.sqlite import connect_reader

log = structlog.get_logger("gatewatch.anomaly")
WARM_METRICS = ("%rms%",)  # what the degradation forecast tracks
TREND_PLOT = "trend.png"
NO_FORECAST = (
    "Trend plot: not attached. gatewatch has no degradation forecast for this asset yet"
    " (it restarted recently or the vibration history is short); the plot comes with the"
    " next predictive ticket."
)
PLOT_FAILED = "Trend plot: not attached, drawing it failed (see the gatewatch log)."


class AnomalyRuntime:
    def __init__(self, settings: AnomalySettings) -> None:
        self.settings = settings
        factory = MODELS[settings.model]
        self.pipeline = AnomalyPipeline(
            settings.degradation,
            scorer_factory=lambda site, asset: AssetScorer(site, asset, model_factory=factory),
        )
        self.signals = 0
        self.models: ModelStore | None = None

    def restore_models(self, state_db: Path) -> int:
        """Offer the saved models to their scorers; from now on save each one it trains."""
        self.models = ModelStore(state_db)
        restored = self.models.restore(self.pipeline)
        counts = self.models.counts
        log.info("anomaly_models_restored", restored=restored, refused=counts.refused)
        return restored

    def save_models(self, now: float) -> int:
        if self.models is None:
            return 0
        return self.models.save_changed(self.pipeline, now)

    def on_readings(self, readings: Iterable[Reading]) -> list[DerivedSignal]:
        out: list[DerivedSignal] = []
        on_reading = self.pipeline.on_reading
        for r in readings:
            out += on_reading(r.site, r.asset, r.metric, r.ts, r.value)
        self.signals += len(out)
        return out

    def tick(self, now: float) -> list[DerivedSignal]:
        out = self.pipeline.tick(now)
        self.signals += len(out)
        return out

    def with_evidence(self, events: list[AlertEvent]) -> list[AlertEvent]:
        """The events, a predictive one that opens a ticket with its trend plot attached."""
        return [self._evidence(ev) if _opens_predictive(ev) else ev for ev in events]

    def _evidence(self, ev: AlertEvent) -> AlertEvent:
        assert ev.asset is not None
        tracker = self.pipeline.trackers.get((ev.site, ev.asset.id))
        try:
            png = None if tracker is None else tracker.trend_png()
        except Exception:  # a plotting bug must not cost the ticket
            log.exception("trend_plot_failed", incident=ev.incident_key)
            return _noted(ev, PLOT_FAILED)
        if png is None:
            log.info("trend_plot_unavailable", incident=ev.incident_key, note="no forecast yet")
            return _noted(ev, NO_FORECAST)
        plot = Attachment(TREND_PLOT, "image/png", png, "trend plot")
        return replace(ev, attachments=(*ev.attachments, plot))

    def warm_up(self, store_path: Path, state_path: Path, now: float | None = None) -> int:
        """Replay the recent vibration history from the store; returns readings replayed."""
        if not store_path.exists():
            return 0
        now = time.time() if now is None else now
        since = round((now - self.settings.window_days * 86_400) * 1000)
        with closing(connect_reader(store_path, state_path)) as conn:
            rows = conn.execute(
                "SELECT s.site, s.asset, s.metric, r.ts, r.value FROM readings r"
                " JOIN series s ON s.id = r.series_id"
                " WHERE s.metric LIKE ? AND r.ts >= ? ORDER BY r.ts",
                (WARM_METRICS[0], since),
            )
            n = 0
            for site, asset, metric, ts, value in rows:
                self.pipeline.on_reading(site, asset, metric, ts / 1000.0, value)
                n += 1
        log.info(
            "anomaly_warmed_up",
            readings=n,
            days=self.settings.window_days,
            status=self.pipeline.status(),
        )
        return n


def _noted(ev: AlertEvent, note: str) -> AlertEvent:
    """The event with a line in its ticket body saying why the trend plot is missing."""
    return replace(ev, text=EventText.plain(ev.title, f"{ev.body}\n\n{note}"))


def _opens_predictive(ev: AlertEvent) -> bool:
    return ev.predictive and ev.kind is EventKind.FIRED and ev.asset is not None
