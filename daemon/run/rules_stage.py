"""The rules stage: readings and derived signals -> rule engine -> alert events.

It sees every batch the anomaly stage passes on (durable readings, in order,
with their derived signals), ticks the engine on the clock (stale data, `for`
timers, update reminders, silences ending), reloads the rules on SIGHUP, and
saves the engine state on the way out. Events go to the outbox it was given
(the tickets stage) with the engine state as the transaction's
:class:`~gatewatch.ticketing_client.service.StateWriter`, to the log, and to
the event listeners it was given. Without rule files it starts idle. On start
it first evaluates what the store committed after the rules' last saved
position in the evaluation journal (``sensors/store/journal.py``), so a kill -9
between a PUBACK and the outbox commit loses no incident.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from contextlib import closing

import structlog
from gatewatch.core.events import AlertEvent
from gatewatch.core.reading import Reading
from gatewatch.core.signals import DerivedSignal
from gatewatch.core.yamlsource import ConfigError
from gatewatch.daemon.config.load import Config
from gatewatch.daemon.run.clock_report import ClockReport
from gatewatch.daemon.run.clock_watch import ClockWatch
from gatewatch.daemon.run.rules_runtime import RulesRuntime, RulesSettings
from gatewatch.daemon.run.stage import Ticker, guarded
from gatewatch.sensors.store.journal import JournalCursor, Position, unevaluated
from gatewatch.sensors.store.sqlite import connect_reader
from gatewatch.ticketing_client.service import EventOutbox

log = structlog.get_logger("gatewatch.alerting")
EventListener = Callable[[list[AlertEvent]], None]


class RulesStage:
    name = "rules"

    def __init__(
        self,
        cfg: Config,
        outbox: EventOutbox | None = None,
        *,
        cursor: JournalCursor | None = None,  # the store's evaluation journal, if it keeps one
        listeners: Sequence[EventListener] = (),
        eval_observers: Sequence[Callable[[float], None]] = (),  # seconds per evaluation
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self.listeners, self.eval_observers = tuple(listeners), tuple(eval_observers)
        self.runtime = _runtime(cfg, outbox, cursor, clock)
        self.cursor = cursor if self.runtime is not None else None
        self.events: list[AlertEvent] = []  # the last few, for status views
        # for /metrics (read from the HTTP thread: plain values replaced, never mutated)
        self.event_counts: dict[str, int] = {}  # events emitted, by kind
        self.alert_counts: dict[str, int] = {"pending": 0, "firing": 0}
        self.open_alerts: tuple[tuple[str, str, float], ...] = ()  # (key, status, since)
        self.clock_report = ClockReport()  # out-of-order drops and clock steps
        self._ticker = Ticker("rules-tick", cfg.rules.tick_every, self.tick)

    async def start(self) -> None:
        if self.runtime is None:
            note = "no rules configured: readings are stored and the anomaly models trained"
            log.warning("no_rules", note=f"{note}, nothing raises an alert")
            return
        self.runtime.start()
        await self._catch_up()
        self._count_alerts()  # restored alerts count from the start, not from the first tick
        self._ticker.start()

    async def _catch_up(self) -> None:
        """Evaluate what the store committed, and so acknowledged, that the rules had not
        evaluated when the daemon last ended (a kill -9 between the PUBACK and the outbox
        commit): the journal after the cursor, before any new reading, each row's position
        set first so the state saved with its events says how far the rules got."""
        cursor = self.cursor
        if cursor is None:
            return
        try:
            pending = await asyncio.to_thread(_unevaluated, self.cfg)
        except Exception as exc:  # a damaged journal must not keep the daemon down
            log.error(
                "rules_catch_up_failed",
                error=repr(exc),
                store=str(self.cfg.store.path),
                note="readings stored before this start were not evaluated again: an"
                " incident among them may have no ticket; check the store (sqlite3 ... "
                "'PRAGMA integrity_check')",
            )
            return
        for position, readings in pending:
            cursor.at = position
            self.on_readings(readings)
        if pending:
            log.warning(
                "rules_caught_up",
                readings=sum(len(r) for _, r in pending),
                note="stored readings the rules had not evaluated before the last stop",
            )

    def draining(self) -> None:
        """Readings still being drained keep flowing through the rules."""

    async def stop(self) -> None:
        await self._ticker.stop()
        if self.runtime is not None:
            self.runtime.stop()

    def reload(self, _old: Config, _new: Config) -> None:
        """ConfigReloader subscriber: swap the rules, or raise to keep the last good ones."""
        if self.runtime is None:
            return
        result = self.runtime.reload()
        if not result.ok:
            raise ConfigError(result.problems)

    def on_readings(self, items: Sequence[Reading | DerivedSignal]) -> None:
        runtime = self.runtime
        if runtime is not None and items:
            self._emit(self._evaluate(lambda: runtime.on_readings(items)))

    def tick(self) -> None:
        if self.runtime is not None:
            self._emit(self._evaluate(self.runtime.on_tick))

    def _evaluate(self, step: Callable[[], list[AlertEvent]]) -> list[AlertEvent]:
        """One rule evaluation, timed; the pending/firing counts refreshed after it."""
        started = time.perf_counter()
        events = guarded(step, "rules_step_failed")
        elapsed = time.perf_counter() - started
        for observe in self.eval_observers:
            observe(elapsed)
        self._count_alerts()
        engine = self.runtime.engine if self.runtime is not None else None
        if engine is not None:
            self.clock_report.update(engine.stats, engine.last_step)
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


def _unevaluated(cfg: Config) -> list[tuple[Position, list[Reading]]]:
    with closing(connect_reader(cfg.store.path, cfg.state_db)) as conn:
        return list(unevaluated(conn))


def _runtime(
    cfg: Config,
    outbox: EventOutbox | None,
    cursor: JournalCursor | None,
    clock: Callable[[], float],
) -> RulesRuntime | None:
    rules = cfg.rules
    if not rules.paths:
        return None
    settings = RulesSettings(
        paths=list(rules.paths), silences_file=rules.silences_file, tick_every=rules.tick_every
    )
    return RulesRuntime(
        settings,
        cfg.assets,
        cfg.state_db,
        site=cfg.site,
        outbox=outbox,
        cursor=cursor,
        clock=clock,
        clock_watch=ClockWatch() if clock is time.time else None,  # not a simulated clock
    )
