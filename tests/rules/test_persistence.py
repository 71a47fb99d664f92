"""Restart in the middle of a pending `for`, while firing, and hot reload of rules."""

from __future__ import annotations

import json

from gatewatch.rules.engine import Engine
from rulehelpers import ASSETS, SITE, engine, kinds, r, ruleset

RULES = """
rules:
  - id: hot
    select: {asset: server-room-1, metric: temperature}
    when: {above: 27, clear: 25}
    for: 5m
    clear_for: 2m
    ticket: {update_every: 15m}
  - id: heating
    select: {asset: server-room-1, metric: temperature}
    when: {rate_above: 0.3, window: 5m}
  - id: door
    select: {class: lift, metric: door_fault_code}
    when: {expr: value != 0}
    ticket: false
  - id: door-again
    when: {repeated: door, times: 2, within: 1h}
"""


def restarted(e: Engine, text: str = RULES) -> Engine:
    blob = json.loads(json.dumps(e.export_state()))  # as the state DB stores it
    fresh = Engine(ruleset(text), ASSETS, default_site=SITE)
    fresh.restore_state(blob)
    return fresh


def test_restart_mid_for_fires_at_the_right_time() -> None:
    e = engine(RULES)
    e.process([r("server-room-1", "temperature", 1000, 28)])
    e.tick(1100)
    e2 = restarted(e)
    assert e2.tick(1299.9) == []
    assert kinds(e2.tick(1300)) == [("fired", 1300)]


def test_restart_while_firing_neither_refires_nor_forgets_updates_and_clearing() -> None:
    e = engine(RULES)
    e.process([r("server-room-1", "temperature", 0, 28)])
    e.tick(300)
    e.process([r("server-room-1", "temperature", 400, 24)])  # clearing since 400
    e2 = restarted(e)
    assert e2.process([r("server-room-1", "temperature", 430, 24)]) == []
    assert kinds(e2.tick(520)) == [("resolved", 520)]
    e3 = engine(RULES)
    e3.process([r("server-room-1", "temperature", 0, 28)])
    e3.tick(300)
    e4 = restarted(e3)
    assert e4.process([r("server-room-1", "temperature", 600, 29)]) == []  # no second FIRED
    assert kinds(e4.tick(1200)) == [("updated", 1200)]  # 300 + 15m


def test_restart_keeps_rate_history_and_repetition_windows() -> None:
    e = engine(RULES)
    e.process([r("server-room-1", "temperature", t, 20 + t / 60 * 0.2) for t in (0, 60, 120)])
    e.process([r("lift-a1", "door_fault_code", 0, 3)])
    e2 = restarted(e)
    heating = e2.process([r("server-room-1", "temperature", 180, 21.5)])  # 1.5 over 3 min
    assert [(ev.rule_id, str(ev.kind)) for ev in heating] == [("heating", "fired")]
    again = e2.process([r("lift-a2", "door_fault_code", 600, 3)])
    assert [(ev.rule_id, str(ev.kind)) for ev in again] == [("door-again", "fired")]


def test_restore_ignores_garbage_and_unknown_rules() -> None:
    e = engine(RULES)
    assert e.restore_state({"version": 99}) == 0
    assert e.restore_state({"version": 1, "alerts": {"x": 1}, "series": [1, "a"]}) == 0
    e.process([r("server-room-1", "temperature", 0, 28)])
    blob = e.export_state()
    fresh = Engine(ruleset(RULES.replace("id: hot", "id: warm")), ASSETS, default_site=SITE)
    assert fresh.restore_state(blob) == 0


def test_hot_reload_keeps_state_of_remaining_rules() -> None:
    e = engine(RULES)
    e.process([r("server-room-1", "temperature", 0, 28)])
    e.replace_rules(ruleset(RULES.replace("clear_for: 2m", "clear_for: 3m")))
    assert kinds(e.tick(300)) == [("fired", 300)]  # the pending `for` survived the reload
    e.replace_rules(ruleset("rules: []"))
    assert e.tick(5000) == []
    assert e.active() == []
