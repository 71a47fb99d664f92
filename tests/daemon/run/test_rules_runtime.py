"""The daemon-side runtime: state DB restore, silences from YAML and the CLI store, reload."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

from gatewatch.core.events import AlertEvent
from gatewatch.core.reading import Reading
from gatewatch.daemon.config.assets import load_assets
from gatewatch.daemon.run.clock_watch import ClockWatch
from gatewatch.daemon.run.rules_runtime import RulesRuntime, RulesSettings
from gatewatch.daemon.run.stage_metrics import events_check
from gatewatch.daemon.state.rule_state import load_engine_state
from gatewatch.rules.language.silence import Match
from gatewatch.ticketing_client.service import StateWriter
from structlog.testing import capture_logs

CONFIG = Path(__file__).resolve().parents[3] / "config"
RULES = """
rules:
  - id: hot
    select: {class: pump, metric: bearing_temp}
    when: {above: 80, clear: 70}
    for: 1m
"""


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _runtime(tmp_path: Path, clock: Clock) -> RulesRuntime:
    settings = RulesSettings(
        paths=[tmp_path / "rules"], silences_file=tmp_path / "silences.yaml", refresh_every=0
    )
    assets = load_assets(CONFIG / "assets.yaml")
    return RulesRuntime(settings, assets, tmp_path / "state.db", site="hq", clock=clock)


def test_runtime_restart_silences_and_reload(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "pumps.yaml").write_text(RULES)
    clock = Clock(1_000_000.0)
    rt = _runtime(tmp_path, clock)
    rt.start()
    rt.silences.add(
        Match({"asset": frozenset({"pump-2"})}),
        clock.t,
        clock.t + 3600,
        comment="swap",
        by="test",
        now=clock.t,
    )
    assert (
        rt.on_readings(
            [Reading("hq", a, "bearing_temp", clock.t, 90) for a in ("pump-1", "pump-2")]
        )
        == []
    )
    rt.stop()  # kill mid-`for`

    clock.t += 60
    rt2 = _runtime(tmp_path, clock)
    rt2.start()
    events = rt2.on_tick()
    assert [(e.asset.id, e.ts) for e in events if e.asset] == [
        ("pump-1", 1_000_060.0)
    ]  # pump-2 muted

    (tmp_path / "rules" / "pumps.yaml").write_text(RULES.replace("above: 80", "above: [80"))
    os.utime(tmp_path / "rules" / "pumps.yaml", ns=(1, 1))
    clock.t += 10
    rt2.on_tick()  # the bad file is reported and the old rules keep running
    assert rt2.reloader is not None and rt2.reloader.failures == 1
    assert rt2.engine is not None and rt2.engine.rules.rules[0].id == "hot"
    (tmp_path / "silences.yaml").write_text("silences: [oops\n")
    rt2.on_tick()
    assert rt2.counters["silence_errors"] == 1


class FullDiskOutbox:
    """Refuses the first ``fail`` commits as SQLite does on a full disk."""

    def __init__(self, state_db: Path, fail: int) -> None:
        self.state_db, self.fail = state_db, fail
        self.committed: list[list[str]] = []

    def submit(self, events: list[AlertEvent], state: StateWriter | None = None) -> object:
        if self.fail:
            self.fail -= 1
            raise sqlite3.OperationalError("database or disk is full")
        with closing(sqlite3.connect(self.state_db)) as conn, conn:
            if state is not None:
                state.write_state(conn)
        self.committed.append([e.incident_key for e in events])
        return None


def saved(state_db: Path) -> bool:
    with closing(sqlite3.connect(state_db)) as conn:
        return load_engine_state(conn) is not None


def test_a_failed_outbox_commit_keeps_the_events_and_the_state_waits(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "pumps.yaml").write_text(RULES.replace("for: 1m", "for: 0s"))
    now = [1_000_000.0]
    outbox = FullDiskOutbox(tmp_path / "state.db", fail=2)
    settings = RulesSettings(paths=[tmp_path / "rules"], save_every=1.0)
    rt = RulesRuntime(
        settings,
        load_assets(CONFIG / "assets.yaml"),
        tmp_path / "state.db",
        site="hq",
        outbox=outbox,
        clock=lambda: now[0],
    )
    rt.start()
    with capture_logs() as logs:
        fired = rt.on_readings([Reading("hq", "pump-1", "bearing_temp", now[0], 90.0)])
        now[0] += 30  # a save would be due: it must not happen without the event
        rt.on_readings([Reading("hq", "pump-1", "bearing_temp", now[0], 91.0)])
    assert [e.incident_key for e in fired] == [e.incident_key for e in rt.unsent]
    assert outbox.committed == [] and not saved(tmp_path / "state.db")
    failed = [e for e in logs if e["event"] == "outbox_commit_failed"]
    assert len(failed) == 2 and failed[0]["error"] == "database or disk is full"
    _, check = events_check(SimpleNamespace(runtime=rt))  # type: ignore[arg-type]
    assert not check().ok and "database or disk is full" in check().detail
    rt.on_tick()  # space is back
    assert check().ok
    assert outbox.committed == [[fired[0].incident_key]]
    assert rt.unsent == [] and saved(tmp_path / "state.db")
    assert rt.counters["outbox_failures"] == 2


def test_a_wall_clock_step_reaches_the_engine_once(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "pumps.yaml").write_text(RULES)
    clock, steady = Clock(1_000_000.0), Clock(50.0)
    settings = RulesSettings(paths=[tmp_path / "rules"])
    assets = load_assets(CONFIG / "assets.yaml")
    watch = ClockWatch(clock, steady)
    rt = RulesRuntime(settings, assets, tmp_path / "state.db", clock=clock, clock_watch=watch)
    engine = rt.start()
    rt.on_readings([Reading("hq", "pump-1", "bearing_temp", clock.t, 90.0)])  # pending
    clock.t, steady.t = clock.t + 5 - 3600, steady.t + 5  # NTP: an hour back
    rt.on_tick()
    rt.on_readings([Reading("hq", "pump-1", "bearing_temp", clock.t, 91.0)])
    assert (engine.stats["clock_steps"], engine.stats["out_of_order"]) == (1, 0)
    clock.t, steady.t = clock.t + 55, steady.t + 55
    assert [str(e.kind) for e in rt.on_tick()] == ["fired"]  # for: 1m, counted from before
