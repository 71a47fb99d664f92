"""Silences and maintenance windows mute tickets, not evaluation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from gatewatch.core.yamlsource import ConfigError
from gatewatch.rules.language.silence import parse_silences
from rulehelpers import engine, r

RULES = """
rules:
  - id: hot
    select: {class: pump, metric: bearing_temp}
    when: {above: 80, clear: 70}
    ticket: {update_every: 10m}
"""
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC).timestamp()  # a Tuesday, 09:00 in Berlin
SILENCES = """
silences:
  - id: overhaul
    match: {asset: pump-1}
    starts: 2026-11-24T08:00:00Z
    ends: 2026-11-24T09:00:00Z
    comment: bearing replacement
maintenance_windows:
  - id: weekly
    match: {class: pump, floor: "-2"}
    every: [tue]
    from: "22:00"
    to: "02:00"
    tz: Europe/Berlin
"""


def _events(e, items):  # type: ignore[no-untyped-def]
    return [(ev.rule_id, str(ev.kind), ev.ts - T0, ev.asset.id) for ev in e.process(items)]


def test_a_silenced_alert_is_ticketed_when_the_silence_ends_if_still_firing() -> None:
    e = engine(RULES)
    e.set_silences(parse_silences(SILENCES, "silences.yaml"))
    assert _events(e, [r("pump-1", "bearing_temp", T0 + 60, 90)]) == []  # muted
    fired = _events(e, [r("pump-2", "bearing_temp", T0 + 60, 90)])  # not silenced
    assert fired == [("hot", "fired", 60, "pump-2")]
    e.process([r("pump-2", "bearing_temp", T0 + 120, 60)])
    assert e.tick(T0 + 3599) == []
    (event,) = e.tick(T0 + 3600)
    assert (str(event.kind), event.ts - T0, event.asset.id) == ("fired", 3600, "pump-1")
    assert event.since - T0 == 60  # the ticket says since when it really fires


def test_an_alert_that_clears_during_the_silence_never_opens_a_ticket() -> None:
    e = engine(RULES)
    e.set_silences(parse_silences(SILENCES, "silences.yaml"))
    e.process([r("pump-1", "bearing_temp", T0 + 60, 90)])
    assert _events(e, [r("pump-1", "bearing_temp", T0 + 600, 60)]) == []
    assert e.tick(T0 + 7200) == []


def test_a_ticket_opened_before_the_silence_still_gets_resolved() -> None:
    e = engine(RULES)
    e.process([r("pump-1", "bearing_temp", T0 - 60, 90)])
    e.set_silences(parse_silences(SILENCES, "silences.yaml"))
    assert e.tick(T0 + 540) == []  # no reminder while silenced
    assert _events(e, [r("pump-1", "bearing_temp", T0 + 600, 60)]) == [
        ("hot", "resolved", 600, "pump-1")
    ]


def test_recurring_window_in_local_time_across_midnight() -> None:
    (_, window) = parse_silences(SILENCES, "silences.yaml")
    tue_2230 = datetime(2026, 11, 24, 21, 30, tzinfo=UTC).timestamp()  # 22:30 CET
    wed_0130 = datetime(2026, 11, 25, 0, 30, tzinfo=UTC).timestamp()  # 01:30 CET
    wed_0200 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC).timestamp()  # 02:00 CET: ended
    tue_2159 = datetime(2026, 11, 24, 20, 59, tzinfo=UTC).timestamp()
    assert [window.active(t) for t in (tue_2159, tue_2230, wed_0130, wed_0200)] == [
        False,
        True,
        True,
        False,
    ]
    summer = datetime(2026, 7, 14, 20, 30, tzinfo=UTC).timestamp()  # Tue 22:30 CEST
    assert window.active(summer)


def test_broken_silence_files_report_every_problem() -> None:
    text = """
silences:
  - id: x
    match: {assett: pump-1}
    starts: yesterday
    ends: 2026-11-24T09:00:00Z
maintenance_windows:
  - id: y
    match: {class: pump}
    every: [tues]
    from: "25:00"
    to: "02:00"
    tz: Mars/Olympus
"""
    with pytest.raises(ConfigError) as info:
        parse_silences(text, "s.yaml")
    lines = [str(p) for p in info.value.problems]
    assert any(line.startswith("s.yaml:4:13: unknown key") and "'asset'" in line for line in lines)
    assert any(line.startswith("s.yaml:5:13: ") and "time with a zone" in line for line in lines)
    assert any("did you mean 'tue'?" in line for line in lines)
    assert any(line.startswith("s.yaml:11:11: ") for line in lines)
    assert any("unknown time zone 'Mars/Olympus'" in line for line in lines)


def test_rule_schedule_working_hours() -> None:
    e = engine(
        RULES.replace(
            "    ticket:",
            "    active: {every: [mon, tue, wed, thu, fri], from: '08:00', to: '18:00',"
            " tz: Europe/Berlin}\n    ticket:",
        )
    )
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC).timestamp()
    monday_0800 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC).timestamp()  # 08:00 CET
    assert e.process([r("pump-1", "bearing_temp", saturday, 95)]) == []
    assert e.tick(monday_0800 - 1) == []
    (event,) = e.tick(monday_0800)
    assert (str(event.kind), event.ts, event.since) == ("fired", monday_0800, saturday)


def test_held_alerts_survive_a_restart() -> None:
    from gatewatch.rules.engine import Engine
    from rulehelpers import ASSETS, SITE, ruleset

    e = engine(RULES)
    mutes = parse_silences(SILENCES, "silences.yaml")
    e.set_silences(mutes)
    e.process([r("pump-1", "bearing_temp", T0 + 60, 90)])
    e2 = Engine(ruleset(RULES), ASSETS, default_site=SITE)
    e2.set_silences(mutes)
    e2.restore_state(e.export_state())
    assert [str(ev.kind) for ev in e2.tick(T0 + 3600)] == ["fired"]
