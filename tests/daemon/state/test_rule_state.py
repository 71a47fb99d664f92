"""Engine state through the SQLite state database: a restart neither re-fires nor forgets."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from gatewatch.core.reading import Reading
from gatewatch.daemon.config.assets import load_assets
from gatewatch.daemon.state.rule_state import (
    RuleStateStore,
    ensure_schema,
    load_engine_state,
    save_engine_state,
)
from gatewatch.rules.engine import Engine
from gatewatch.rules.language.load import load_rules

CONFIG = Path(__file__).resolve().parents[3] / "config"
RULES = """
rules:
  - id: rope
    select: {class: lift, metric: rope_break}
    when: {expr: value == 1}
    for: 30s
    ticket: {update_every: 5m}
"""


def _engine() -> Engine:
    assets = load_assets(CONFIG / "assets.yaml")
    return Engine(load_rules([("r.yaml", RULES)], assets), assets, default_site="hq")


def test_restart_through_the_state_db(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    e = _engine()
    e.process(
        [
            Reading("hq", "lift-a1", "rope_break", 100, 1),
            Reading("hq", "lift-a2", "rope_break", 100, 1),
        ]
    )
    assert [ev.asset.id for ev in e.tick(130) if ev.asset] == ["lift-a1", "lift-a2"]
    e.process(
        [
            Reading("hq", "lift-a1", "rope_break", 140, 0),
            Reading("hq", "lift-a2", "rope_break", 150, 1),
        ]
    )
    e.process([Reading("hq", "lift-a1", "rope_break", 200, 1)])  # pending again since 200
    with sqlite3.connect(db) as conn:
        ensure_schema(conn)
        assert save_engine_state(conn, e, 210) > 0
    conn.close()

    fresh = _engine()
    with sqlite3.connect(db) as conn:
        data = load_engine_state(conn)
    conn.close()
    assert data is not None
    assert fresh.restore_state(data) == 2
    assert fresh.tick(229) == []  # lift-a2 does not fire again
    events = fresh.tick(430)
    assert [(str(ev.kind), ev.asset.id, ev.ts) for ev in events if ev.asset] == [
        ("fired", "lift-a1", 230),  # the pending `for` was not forgotten
        ("updated", "lift-a2", 430),  # reminders continue on the old schedule
    ]


def test_damaged_state_is_ignored(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "s.db") as conn:
        ensure_schema(conn)
        assert load_engine_state(conn) is None
        conn.execute("INSERT INTO rule_state VALUES (1, 0, '{not json')")
        assert load_engine_state(conn) is None
    conn.close()


def test_infinite_forecasts_are_stored_as_valid_json(tmp_path: Path) -> None:
    from gatewatch.core.signals import DerivedSignal

    assets = load_assets(CONFIG / "assets.yaml")
    rules = load_rules(
        [
            (
                "r.yaml",
                "rules:\n  - id: c\n    select: {metric: days_to_zone_c}\n    when: {below: 14}\n",
            )
        ],
        assets,
    )
    e = Engine(rules, assets, default_site="hq")
    inf = float("inf")
    e.process([DerivedSignal("hq", "pump-1", "days_to_zone_c", 1, inf, {"trend_per_day": inf})])
    with sqlite3.connect(tmp_path / "s.db") as conn:
        ensure_schema(conn)
        save_engine_state(conn, e, 2)
        assert load_engine_state(conn) is not None
    conn.close()


PUMPS = """
rules:
  - id: hot
    select: {metric: bearing_temp}
    when: {above: 80, clear: 70, window: 2m}
"""
PUMP_IDS = ("pump-1", "pump-2", "pump-3")  # pump-3 is not in the registry


def _pumps(text: str = PUMPS) -> Engine:
    assets = load_assets(CONFIG / "assets.yaml")
    return Engine(load_rules([("r.yaml", text)], assets), assets, default_site="hq")


def _feed(e: Engine, t: float, values: dict[str, float]) -> None:
    e.process([Reading("hq", a, "bearing_temp", t, v) for a, v in values.items()])


def _series(data: dict[str, object] | None) -> list[object]:
    assert data is not None
    items = data["series"]
    assert isinstance(items, list)
    return sorted(items, key=lambda s: json.dumps(s, sort_keys=True))


def test_saves_write_the_alerts_each_time_and_the_series_at_a_bounded_rate(
    tmp_path: Path,
) -> None:
    e = _pumps()
    store = RuleStateStore(series_every=60)
    conn = sqlite3.connect(tmp_path / "s.db")
    ensure_schema(conn)
    _feed(e, 0, dict.fromkeys(PUMP_IDS, 50.0))
    assert store.save(conn, e, 0) > 0 and store.rows_written == 3  # first pass: every row
    assert store.save(conn, e, 1) == 0  # nothing changed: nothing written
    _feed(e, 10, {"pump-1": 90.0})  # an alert fires, pump-1's history grows
    core = store.save(conn, e, 10)
    assert 0 < core < 1000 and store.rows_written == 3  # the alert now, the series later
    saved = load_engine_state(conn)
    assert saved is not None and "hot:hq/pump-1/bearing_temp" in saved["alerts"]
    assert store.save(conn, e, 60) > 0 and store.rows_written == 4  # only pump-1's row
    assert _series(load_engine_state(conn)) == _series(e.export_state())
    conn.close()


def test_an_incremental_state_restores_like_the_whole_document(tmp_path: Path) -> None:
    e, store = _pumps(), RuleStateStore(series_every=30)
    with sqlite3.connect(tmp_path / "s.db") as conn:
        ensure_schema(conn)
        for t in range(0, 300, 5):
            _feed(e, t, {a: 60.0 + (t + 7 * i) % 40 for i, a in enumerate(PUMP_IDS)})
            store.save(conn, e, t)
        store.save(conn, e, 300, flush=True)
        data = load_engine_state(conn)
    conn.close()
    fresh = _pumps()
    assert data is not None
    fresh.restore_state(data)
    assert fresh.export_state()["alerts"] == e.export_state()["alerts"]
    assert _series(fresh.export_state()) == _series(e.export_state())


def test_a_whole_document_from_before_loads_and_moves_to_rows(tmp_path: Path) -> None:
    e = _pumps()
    _feed(e, 0, dict.fromkeys(PUMP_IDS, 90.0))
    old = json.dumps(e.export_state(), separators=(",", ":"))
    with sqlite3.connect(tmp_path / "s.db") as conn:
        ensure_schema(conn)
        conn.execute("INSERT INTO rule_state VALUES (1, 0, ?)", (old,))
        assert _series(load_engine_state(conn)) == _series(e.export_state())
        RuleStateStore().save(conn, e, 1)
        assert _series(load_engine_state(conn)) == _series(e.export_state())  # not twice
        assert conn.execute("SELECT count(*) FROM rule_series").fetchone() == (3,)
    conn.close()


def test_rows_of_series_no_rule_binds_any_more_go_and_a_damaged_row_is_skipped(
    tmp_path: Path,
) -> None:
    e = _pumps()
    _feed(e, 0, dict.fromkeys(PUMP_IDS, 50.0))
    with sqlite3.connect(tmp_path / "s.db") as conn:
        ensure_schema(conn)
        save_engine_state(conn, e, 0)
        conn.execute("UPDATE rule_series SET data = '{oops' WHERE asset = 'pump-3'")
        assert [s["asset"] for s in _series(load_engine_state(conn))] == ["pump-1", "pump-2"]
        other = _pumps(PUMPS.replace("bearing_temp", "vibration.rms"))
        other.process([Reading("hq", "pump-1", "vibration.rms", 1, 1.0)])
        RuleStateStore().save(conn, other, 1)
        rows = conn.execute("SELECT asset, metric FROM rule_series").fetchall()
        assert rows == [("pump-1", "vibration.rms")]
    conn.close()


def test_after_a_rolled_back_save_forget_makes_the_next_one_write_everything(
    tmp_path: Path,
) -> None:
    e, store = _pumps(), RuleStateStore(series_every=60)
    _feed(e, 0, dict.fromkeys(PUMP_IDS, 50.0))
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    ensure_schema(conn)
    conn.execute("BEGIN")
    store.save(conn, e, 0)
    conn.execute("ROLLBACK")  # e.g. the outbox insert of the same transaction failed
    store.forget()
    assert store.save(conn, e, 1) > 0  # not "unchanged": the rows were never written
    assert _series(load_engine_state(conn)) == _series(e.export_state())
    conn.close()
