"""The rule engine inside the daemon: the I/O around the pure engine, in one object.

    runtime = RulesRuntime(RulesSettings(paths=[cfg_dir / "rules"]), cfg.assets,
                           cfg.state_db, site=cfg.site, outbox=tickets)
    runtime.start()                          # ConfigError if the rules are invalid
    events = runtime.on_readings(batch)      # durable readings (and derived signals), in order
    events = runtime.on_tick()               # every settings.tick_every seconds
    runtime.reload()                         # SIGHUP; runtime.stop() saves the state

Events go to ``outbox`` (an :class:`~gatewatch.ticketing_client.service.EventOutbox`)
with the runtime itself as the :class:`~gatewatch.ticketing_client.service.StateWriter`:
the outbox rows and the engine state that caused them commit in one transaction.
Without an outbox the state is saved alone. Everything here runs on one thread (the
caller's): the engine is not thread-safe.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import structlog
from gatewatch.core.assets import AssetRegistry
from gatewatch.core.events import AlertEvent
from gatewatch.core.reading import Reading
from gatewatch.core.signals import DerivedSignal
from gatewatch.core.yamlsource import ConfigError
from gatewatch.daemon.config.files import read_bounded
from gatewatch.daemon.config.rulefiles import load_rule_files
from gatewatch.daemon.run.clock_watch import ClockWatch
from gatewatch.daemon.run.rules_reload import ReloadResult, RuleReloader
from gatewatch.daemon.state.rule_state import RuleStateStore, ensure_schema, load_engine_state
from gatewatch.daemon.state.silences import SilenceStore
from gatewatch.rules.engine import Engine
from gatewatch.rules.language.silence import Mute, parse_silences
from gatewatch.sensors.store.errors import StoreError, describe
from gatewatch.sensors.store.journal import (
    JournalCursor,
    ensure_cursor_schema,
    load_cursor,
    save_cursor,
)
from gatewatch.ticketing_client.service import EventOutbox

log = structlog.get_logger("gatewatch.rules")


@dataclass(frozen=True)
class RulesSettings:
    paths: list[Path]
    silences_file: Path | None = None
    tick_every: float = 5.0  # seconds between engine.tick calls
    save_every: float = 10.0  # seconds between state saves (also after events)
    series_every: float = 60.0  # seconds between saves of the series' history (and at stop)
    refresh_every: float = 30.0  # seconds between reloading silences / polling rule files


class RulesRuntime:
    def __init__(
        self,
        settings: RulesSettings,
        assets: AssetRegistry,
        state_db: Path,
        *,
        site: str = "",
        outbox: EventOutbox | None = None,
        cursor: JournalCursor | None = None,
        clock: Callable[[], float] = time.time,
        clock_watch: ClockWatch | None = None,  # steps of ``clock`` (the real one only)
    ) -> None:
        self.settings, self.assets, self.state_db, self.site = settings, assets, state_db, site
        self.outbox, self.cursor, self.clock = outbox, cursor, clock
        self.clock_watch = clock_watch
        self.engine: Engine | None = None
        self.reloader: RuleReloader | None = None
        self.silences = SilenceStore(state_db)
        self.state = RuleStateStore(series_every=settings.series_every)
        self.counters = {"events": 0, "saves": 0, "silence_errors": 0, "outbox_failures": 0}
        self.unsent: list[AlertEvent] = []  # events whose outbox commit failed, retried
        self.outbox_error: StoreError | None = None  # why, while they wait
        self._last_save = self._last_refresh = -1e18
        self._yaml_mutes: tuple[Mute, ...] = ()

    def start(self) -> Engine:
        rules = load_rule_files(self.settings.paths, self.assets)  # invalid: refuse to start
        engine = Engine(rules, self.assets, default_site=self.site)
        with closing(sqlite3.connect(self.state_db, timeout=30)) as conn, conn:
            ensure_schema(conn)
            data = load_engine_state(conn)
            if self.cursor is not None:
                ensure_cursor_schema(conn)
                self.cursor.at = load_cursor(conn)
        restored = engine.restore_state(data) if data is not None else 0
        self.engine = engine
        self.reloader = RuleReloader(engine, self.settings.paths, self.assets)
        self._refresh(self.clock(), force=True)
        if self.clock_watch is not None:
            self.clock_watch.step()  # the baseline
        log.info("rules_started", rules=len(rules.rules), restored_alerts=restored)
        return engine

    def on_readings(self, readings: Sequence[Reading | DerivedSignal]) -> list[AlertEvent]:
        self._watch_clock()
        events = self._engine().process(readings, now=self.clock())
        return self._after(events)

    def on_tick(self) -> list[AlertEvent]:
        self._watch_clock()
        now = self.clock()
        self._refresh(now)
        return self._after(self._engine().tick(now))

    def reload(self) -> ReloadResult:
        assert self.reloader is not None, "start() first"
        return self.reloader.reload()

    def stop(self) -> None:
        if self.engine is None:
            return
        if self.unsent:  # never the state without its events: a last try, else the journal
            self._submit([])
        else:
            self.save(flush=True)

    def save(self, *, flush: bool = False) -> None:
        """The state alone (no outbox rows); ``flush``: the series too, due or not."""
        try:
            with closing(sqlite3.connect(self.state_db, timeout=30)) as conn, conn:
                self.state.save(conn, self._engine(), self.clock(), flush=flush)
                if self.cursor is not None:
                    save_cursor(conn, self.cursor.at)
        except BaseException:
            self.state.forget()
            raise
        self.counters["saves"] += 1
        self._last_save = self.clock()

    def write_state(self, conn: sqlite3.Connection) -> None:
        """StateWriter: what changed of the engine state and how far in the evaluation
        journal it got, inside the caller's transaction."""
        self.state.save(conn, self._engine(), self.clock())
        if self.cursor is not None:
            save_cursor(conn, self.cursor.at)

    def _watch_clock(self) -> None:
        """A step of the gateway clock, either way, moves the engine's timers with it."""
        jump = self.clock_watch.step() if self.clock_watch is not None else 0.0
        if jump:
            self._engine().clock_stepped(jump)

    def _engine(self) -> Engine:
        assert self.engine is not None, "start() first"
        return self.engine

    def _after(self, events: list[AlertEvent]) -> list[AlertEvent]:
        self.counters["events"] += len(events)
        if self.outbox is not None and (events or self.unsent):
            self._submit(events)
        elif events or self.clock() - self._last_save >= self.settings.save_every:
            self.save()
        return events

    def _submit(self, events: list[AlertEvent]) -> None:
        """The events' outbox rows with the state that caused them, in one transaction. If
        it fails (a full disk), the events wait here and go with the next try, and the
        state is not saved without them: a kill meanwhile restarts from the last state
        committed with its events and evaluates the journal after it again."""
        assert self.outbox is not None
        queued = [*self.unsent, *events]
        try:
            self.outbox.submit(queued, self)
        except BaseException as exc:
            self.state.forget()  # rolled back: what it remembers was not written
            if not isinstance(exc, Exception):
                raise
            self.unsent = queued
            self.counters["outbox_failures"] += 1
            error = self.outbox_error = describe(exc)
            log.error(
                "outbox_commit_failed",
                events=len(queued),
                reason=error.reason,
                error=error.message,
                remedy=error.remedy,
                note="the events are kept and retried with the next evaluation",
            )
            return
        self.unsent, self.outbox_error = [], None
        self.counters["saves"] += 1
        self._last_save = self.clock()

    def _refresh(self, now: float, *, force: bool = False) -> None:
        if not force and now - self._last_refresh < self.settings.refresh_every:
            return
        self._last_refresh = now
        if self.reloader is not None and not force:
            self.reloader.poll()
        if self.settings.silences_file is not None:
            self._yaml_mutes = self._read_silences(self.settings.silences_file)
        stored = [s.silence for s in self.silences.active(now)]
        self._engine().set_silences([*self._yaml_mutes, *stored])

    def _read_silences(self, path: Path) -> tuple[Mute, ...]:
        try:
            mutes: tuple[Mute, ...] = parse_silences(read_bounded(path), str(path))
        except FileNotFoundError:
            return ()
        except (ConfigError, OSError, UnicodeDecodeError) as exc:
            self.counters["silence_errors"] += 1
            log.error("silences_invalid", error=str(exc), kept=len(self._yaml_mutes))
            return self._yaml_mutes  # keep the last good silences
        return mutes
