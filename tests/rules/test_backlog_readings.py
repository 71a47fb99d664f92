"""Readings from a resumed session's backlog (Reading.backlog: no payload time, timed at
delivery): threshold rules see them, rate-of-change rules are no spike on them."""

from __future__ import annotations

from gatewatch.core.reading import Reading
from rulehelpers import SITE, engine, kinds

RULES = """
rules:
  - id: heating
    select: {asset: server-room-1, metric: temperature}
    when: {rate_above: 0.5, window: 2m}
  - id: hot
    select: {asset: server-room-1, metric: temperature}
    when: {above: 30}
"""


def temp(ts: float, value: float, *, backlog: bool = False) -> Reading:
    return Reading(SITE, "server-room-1", "temperature", ts, value, None, backlog, backlog)


def test_a_backlog_delivered_in_milliseconds_is_no_rate_of_change_spike() -> None:
    # ten minutes of readings (20 -> 24 C), the series' first, delivered at 600 s 1 ms apart
    burst = [(600 + i / 1000, 20.0 + i * 0.4) for i in range(11)]
    live = engine(RULES)  # as live readings they are a rise of 4 C in 10 ms
    assert kinds(live.process([temp(t, v) for t, v in burst])) == [("fired", 600.001)]
    e = engine(RULES)
    assert e.process([temp(t, v, backlog=True) for t, v in burst]) == []
    # live readings after it are judged on their own history
    assert e.process([temp(660, 24.0), temp(720, 24.3)]) == []  # 0.3/min
    assert kinds(e.process([temp(760, 26.0)])) == [("fired", 760)]  # 2.0 C in 100 s


def test_threshold_rules_still_see_backlog_readings() -> None:
    e = engine(RULES)
    e.process([temp(0, 20.0), temp(60, 20.1)])
    events = e.process([temp(600, 25.0, backlog=True), temp(600.001, 31.0, backlog=True)])
    assert kinds(events) == [("fired", 600.001)]
    assert [ev.rule_id for ev in events] == ["hot"]
