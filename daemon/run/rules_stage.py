"""The alerting stage of the daemon: durable readings -> rule engine -> alert events.

A PipelineHook: it starts with the pipeline, sees every batch of readings once
the store has committed it (in order), ticks the engine on the clock (stale
data, `for` timers, update reminders, silences ending), reloads the rules on
SIGHUP, and saves the engine state on the way out. Events go to the
ticketing outbox in the same transaction as the engine state, and to the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TypeVar

import structlog
from gatewatch.core.events import AlertEvent
from gatewatch.core.reading import Reading
from gatewatch.core.yamlsource import ConfigError
from gatewatch.daemon.config.load import Config
from gatewatch.daemon.run.anomaly_stage import AnomalyStage
from gatewatch.daemon.run.pipeline import Pipeline
from gatewatch.daemon.run.rules_runtime import RulesRuntime, RulesSettings
from gatewatch.ticketing_client.service import Ticketing

log = structlog.get_logger("gatewatch.alerting")
T = TypeVar("T")


class Alerting:
    def __init__(
        self,
        cfg: Config,
        ticketing: Ticketing | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self.ticketing = ticketing
        self.clock = clock
        self.listeners: list[Callable[[list[AlertEvent]], None]] = []
        self.runtime: RulesRuntime | None = None
        self.anomaly: AnomalyStage | None = None
        self.events: list[AlertEvent] = []  # the last few, for status views
        # for /metrics (read from the HTTP thread: plain values replaced, never mutated)
        self.event_counts: dict[str, int] = {}  # events emitted, by kind
        self.alert_counts: dict[str, int] = {"pending": 0, "firing": 0}
        self.open_alerts: tuple[tuple[str, str, float], ...] = ()  # (key, status, since)
        self.eval_observers: list[Callable[[float], None]] = []  # seconds per evaluation
        self._tick: asyncio.Task[None] | None = None

    # PipelineHooks
    def attach(self, p: Pipeline) -> None:
        rules = self.cfg.rules
        if not rules.paths:
            log.warning("no_rules", note="no rules configured: readings are stored only")
            return
        settings = RulesSettings(
            paths=list(rules.paths), silences_file=rules.silences_file, tick_every=rules.tick_every
        )
        self.runtime = RulesRuntime(
            settings, self.cfg.assets, self.cfg.state_db, site=self.cfg.site, clock=self.clock
        )
        self.runtime.start()
        self._count_alerts()  # restored alerts count from the start, not from the first tick
        self.anomaly = AnomalyStage(self.cfg.anomaly)
        self.anomaly.restore_models(self.cfg.state_db)
        self.anomaly.warm_up(self.cfg.store.path, self.cfg.state_db, now=self.clock())
        if self.ticketing is not None:
            ticketing, anomaly = self.ticketing, self.anomaly
            # outbox rows (with a predictive ticket's trend plot) and the engine state that
            # caused them: one transaction
            self.runtime.sink = lambda events, state: ticketing.submit(
                anomaly.with_evidence(events), also=state
            )
        p.ingest.listeners.append(self._on_readings)
        self._tick = asyncio.get_running_loop().create_task(self._ticker(), name="rules-tick")

    def draining(self, p: Pipeline) -> None:
        """Readings still being drained keep flowing through the rules."""

    async def close(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick
        if self.runtime is not None:
            self.runtime.stop()
        if self.anomaly is not None:
            self._save_models(self.anomaly, self.clock())

    def reload(self, _old: Config, _new: Config) -> None:
        """ConfigReloader subscriber: swap the rules, or raise to keep the last good ones."""
        if self.runtime is None:
            return
        result = self.runtime.reload()
        if not result.ok:
            raise ConfigError(result.problems)

    def _on_readings(self, readings: list[Reading], _durable_at: float) -> None:
        runtime, anomaly = self.runtime, self.anomaly
        if runtime is None or anomaly is None or not readings:
            return
        signals = self._guard(lambda: anomaly.on_readings(readings))
        self._emit(self._evaluate(lambda: runtime.on_readings([*readings, *signals])))

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.rules.tick_every)
            self._tick_once(self.clock())

    def _tick_once(self, now: float) -> None:
        runtime, anomaly = self.runtime, self.anomaly
        assert runtime is not None and anomaly is not None
        signals = self._guard(lambda: anomaly.tick(now))
        if signals:
            self._emit(self._evaluate(lambda: runtime.on_readings(signals)))
        self._emit(self._evaluate(runtime.on_tick))
        self._save_models(anomaly, now)

    def _save_models(self, anomaly: AnomalyStage, now: float) -> None:
        """Models trained since the last tick go to state.db (a failure is logged, not fatal)."""
        self._guard(lambda: [anomaly.save_models(now)])

    def _evaluate(self, step: Callable[[], list[AlertEvent]]) -> list[AlertEvent]:
        """One rule evaluation, timed; the pending/firing counts refreshed after it."""
        started = time.perf_counter()
        events = self._guard(step)
        elapsed = time.perf_counter() - started
        for observe in self.eval_observers:
            observe(elapsed)
        self._count_alerts()
        return events

    def _count_alerts(self) -> None:
        engine = self.runtime.engine if self.runtime is not None else None
        if engine is None:
            return
        active = tuple(engine.active())
        counts = {"pending": 0, "firing": 0}
        for _key, status, _since in active:
            counts[status] = counts.get(status, 0) + 1
        self.open_alerts, self.alert_counts = active, counts

    def _guard(self, step: Callable[[], list[T]]) -> list[T]:
        try:
            return step()
        except Exception:  # a rule engine bug must not stop ingest
            log.exception("rules_step_failed")
            return []

    def _emit(self, events: list[AlertEvent]) -> None:
        for ev in events:
            log.info(
                "alert_event",
                kind=str(ev.kind),
                incident=ev.incident_key,
                priority=f"P{ev.priority}",
                title=ev.title,
                asset=ev.asset.id if ev.asset else None,
                value=ev.value,
            )
        if events:
            self.events = (self.events + events)[-200:]
            counts = dict(self.event_counts)
            for ev in events:
                counts[str(ev.kind)] = counts.get(str(ev.kind), 0) + 1
            self.event_counts = counts
            for listener in self.listeners:
                listener(events)
