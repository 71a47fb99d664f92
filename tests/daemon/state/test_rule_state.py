"""Engine state through the SQLite state database: a restart neither re-fires nor forgets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gatewatch.core.reading import Reading
from gatewatch.daemon.config.assets import load_assets
from gatewatch.daemon.state.rule_state import ensure_schema, load_engine_state, save_engine_state
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
