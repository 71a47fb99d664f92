"""The rule state in state.db is a format: a document saved by an older gatewatch restores.

``data/state_v1.json`` was written by the engine of commit bbaca3f (before the state
became a value of its own) with ``python tests/rules/test_state_format.py``: the
document ``scenario`` leaves (every part of it in use: series with history,
evidence and a non-finite value, pending, firing and clearing alerts, a site alert,
a repetition log, composite members, a FIRED held back by a silence, two sites),
and what that engine did after restoring it (``continuation``): its events and the
document it saved at the end. The engine of today must do exactly the same.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from gatewatch.core.events import AlertEvent
from gatewatch.core.reading import Reading
from gatewatch.core.signals import DerivedSignal
from gatewatch.rules.engine import Engine
from gatewatch.rules.language.silence import Match, Silence
from gatewatch.rules.persist import decode, encode
from rulehelpers import ASSETS, EVERY_KIND

FIXTURE = Path(__file__).resolve().parent / "data" / "state_v1.json"
RULES = EVERY_KIND
T0 = 1_764_000_000.0
EVIDENCE = {"current_rms_mm_s": 4.2, "current_zone": "B", "forecast_date": "2025-12-20"}


def fresh() -> Engine:
    e = Engine(RULES, ASSETS, default_site="hq")
    lift_a2 = Match({"asset": frozenset({"lift-a2"})})
    e.set_silences([Silence("lift-a2-service", lift_a2, T0, T0 + 3000.0)])
    return e


def hq(asset: str, metric: str, at: float, value: float) -> Reading:
    return Reading("hq", asset, metric, T0 + at, value)


def forecast(at: float, days: float) -> DerivedSignal:
    return DerivedSignal("annex", "pump-1", "days_to_zone_c", T0 + at, days, EVIDENCE)


def scenario(e: Engine) -> list[AlertEvent]:
    """Twenty minutes at two sites; the annex goes silent after six."""
    out = e.tick(T0)
    for minute in range(21):
        at = minute * 60.0
        batch: list[Reading | DerivedSignal] = [
            hq("server-room-1", "temperature", at, 24.0 + 0.5 * minute if minute < 16 else 25.0),
            hq("server-room-1", "crac_running", at, 0.0 if minute >= 8 else 1.0),
            hq("lift-a1", "door_fault_code", at, 17.0 if minute % 5 == 1 else 0.0),
            hq("lift-a2", "door_fault_code", at, 23.0 if minute in (3, 19, 20) else 0.0),
            hq("lift-a2", "door_close_time", at, 9.0 if minute >= 15 else 5.0),
        ]
        if minute < 6:
            batch.append(Reading("annex", "pump-1", "bearing_temp", T0 + at, 95.0))
            batch.append(forecast(at, math.inf if minute == 0 else 20.0 - minute))
        out += e.process(batch)
        out += e.tick(T0 + at + 30.0)
    return out


def continuation(e: Engine) -> list[AlertEvent]:
    """After the restart: the annex is back, the room cools, a lift door stays slow."""
    out = e.tick(T0 + 1290.0)
    for minute in range(22, 60, 2):
        at = minute * 60.0
        out += e.process(
            [
                hq("server-room-1", "temperature", at, 23.0),
                hq("server-room-1", "crac_running", at, 1.0),
                hq("lift-a1", "door_fault_code", at, 17.0 if minute == 30 else 0.0),
                hq("lift-a2", "door_close_time", at, 9.0),
                Reading("annex", "pump-1", "bearing_temp", T0 + at, 60.0),
                forecast(at, 10.0),
            ]
        )
        out += e.tick(T0 + at + 30.0)
    return out + e.tick(T0 + 4000.0) + e.tick(T0 + 200_000.0)


def facts(events: list[AlertEvent]) -> list[list[Any]]:
    return [[str(e.kind), e.rule_id, e.incident_key, e.ts, e.priority] for e in events]


def restored() -> tuple[Engine, int]:
    saved = json.loads(FIXTURE.read_text())
    e = fresh()
    return e, e.restore_state(saved["state"])


def test_a_saved_document_restores_every_alert() -> None:
    saved = json.loads(FIXTURE.read_text())
    e, count = restored()
    assert count == saved["restored"] == len(saved["state"]["alerts"]) > 5
    assert json.loads(json.dumps(e.export_state())) == saved["state"]


def test_the_restored_engine_goes_on_as_the_old_one_did() -> None:
    saved = json.loads(FIXTURE.read_text())
    e, _ = restored()
    assert facts(continuation(e)) == saved["continuation"]
    assert json.loads(json.dumps(e.export_state())) == saved["final"]


def test_the_codec_writes_back_what_it_read() -> None:
    doc = json.loads(FIXTURE.read_text())["state"]
    state = decode(doc)
    assert state is not None and encode(state) == doc
    assert decode({**doc, "version": 2}) is None


def test_a_snapshot_is_a_value_the_engine_no_longer_touches() -> None:
    saved = json.loads(FIXTURE.read_text())
    e, _ = restored()
    before = e.snapshot()
    continuation(e)
    assert encode(before) == saved["state"] != e.export_state()
    again = fresh()
    assert again.resume(before) == saved["restored"]
    assert facts(continuation(again)) == saved["continuation"]
    assert encode(before) == saved["state"]


def test_the_document_uses_every_part_of_the_format() -> None:
    state = json.loads(FIXTURE.read_text())["state"]
    assert {"pending", "firing"} <= {a["status"] for a in state["alerts"].values()}
    assert any(a["clear_since"] is not None for a in state["alerts"].values())
    assert state["held"] and state["repeats"] and state["composites"] and state["groups"]
    assert set(state["sites"]) == {"hq", "annex"}
    assert any(s["evidence"] for s in state["series"])
    assert "annex-offline:annex" in state["alerts"]


def write_fixture() -> None:
    e = fresh()
    scenario(e)
    state = json.loads(json.dumps(e.export_state()))
    again = fresh()
    count = again.restore_state(state)
    events = continuation(again)
    final = json.loads(json.dumps(again.export_state()))
    # not sort_keys: the order of the sites is that of the events of one tick
    doc = {"state": state, "restored": count, "continuation": facts(events), "final": final}
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":  # python tests/rules/test_state_format.py
    write_fixture()
