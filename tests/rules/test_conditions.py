"""Every condition kind, with `for` and hysteresis boundaries exactly at the edge."""

from __future__ import annotations

import math

from gatewatch.core.events import EventKind
from gatewatch.core.signals import DerivedSignal
from rulehelpers import SITE, engine, kinds, r

THRESHOLD = """
rules:
  - id: hot
    select: {asset: server-room-1, metric: temperature}
    when: {above: 27, clear: 25}
    for: 2m
    clear_for: 1m
    priority: P3
"""


def test_for_fires_exactly_at_the_edge_not_before() -> None:
    e = engine(THRESHOLD)
    assert e.process([r("server-room-1", "temperature", 0, 28)]) == []
    assert e.tick(119.999) == []
    assert kinds(e.tick(120)) == [("fired", 120)]
    assert e.tick(500) == []  # fires once


def test_for_uses_the_due_time_even_when_the_tick_is_late() -> None:
    e = engine(THRESHOLD)
    e.process([r("server-room-1", "temperature", 0, 28)])
    assert kinds(e.tick(1000)) == [("fired", 120)]


def test_above_is_strict_and_the_clear_level_is_inclusive() -> None:
    e = engine(THRESHOLD.replace("for: 2m", "for: 0s").replace("clear_for: 1m", ""))
    assert e.process([r("server-room-1", "temperature", 0, 27)]) == []  # at the limit: not above
    assert kinds(e.process([r("server-room-1", "temperature", 1, 27.001)])) == [("fired", 1)]
    # between the levels (hysteresis band): stays firing
    assert e.process([r("server-room-1", "temperature", 2, 25.001)]) == []
    assert e.process([r("server-room-1", "temperature", 3, 26.9)]) == []
    # exactly at the clear level: resolves
    assert kinds(e.process([r("server-room-1", "temperature", 4, 25)])) == [("resolved", 4)]


def test_pending_resets_when_the_condition_breaks_before_for() -> None:
    e = engine(THRESHOLD)
    e.process([r("server-room-1", "temperature", 0, 28)])
    e.process([r("server-room-1", "temperature", 119, 26)])  # in the band: pending ends
    e.process([r("server-room-1", "temperature", 120, 28)])
    assert e.tick(239.9) == []
    assert kinds(e.tick(240)) == [("fired", 240)]


def test_clear_for_resolves_exactly_at_the_edge_and_a_new_alarm_restarts_it() -> None:
    e = engine(THRESHOLD)
    e.process([r("server-room-1", "temperature", 0, 28)])
    e.tick(120)
    e.process([r("server-room-1", "temperature", 200, 24)])  # cleared at 200
    e.process([r("server-room-1", "temperature", 230, 28)])  # alarm again: clear timer reset
    e.process([r("server-room-1", "temperature", 240, 24)])  # cleared at 240
    assert e.tick(299.999) == []
    assert kinds(e.tick(300)) == [("resolved", 300)]


def test_keep_firing_for_holds_after_the_last_alarm() -> None:
    e = engine(THRESHOLD.replace("clear_for: 1m", "keep_firing_for: 10m").replace("2m", "0s"))
    e.process([r("server-room-1", "temperature", 0, 28)])
    e.process([r("server-room-1", "temperature", 60, 20)])  # cleared, but alarm at 0 + 10m
    assert e.tick(599) == []
    assert kinds(e.tick(600)) == [("resolved", 600)]


def test_below_and_outside_bands() -> None:
    e = engine(
        """
        rules:
          - id: cold
            select: {asset: server-room-1, metric: temperature}
            when: {below: 15, clear: 17}
          - id: humidity
            select: {asset: server-room-1, metric: humidity}
            when: {outside: [20, 60], clear: [25, 55]}
        """
    )
    assert e.process([r("server-room-1", "temperature", 0, 15)]) == []
    assert kinds(e.process([r("server-room-1", "temperature", 1, 14.9)])) == [("fired", 1)]
    assert e.process([r("server-room-1", "temperature", 2, 16.9)]) == []
    assert kinds(e.process([r("server-room-1", "temperature", 3, 17)])) == [("resolved", 3)]
    h = [r("server-room-1", "humidity", t, v) for t, v in ((0, 60), (1, 61), (2, 56), (3, 55))]
    assert kinds(e.process(h)) == [("fired", 1), ("resolved", 3)]
    low = [r("server-room-1", "humidity", t, v) for t, v in ((4, 19.5), (5, 24), (6, 25))]
    assert kinds(e.process(low)) == [("fired", 4), ("resolved", 6)]


def test_state_expression_bits_sets_and_clear_when() -> None:
    e = engine(
        """
        rules:
          - id: fault
            select: {asset: fire-panel-1, metric: fault_word}
            when:
              expr: (bit(value, 0) or value & 0x0c) and value not in [13]
              clear_when: value == 0
        """
    )
    feed = [(0, 2), (1, 1), (2, 2), (3, 0), (4, 8), (5, 13), (6, 0)]
    events = e.process([r("fire-panel-1", "fault_word", t, v) for t, v in feed])
    # 2: bit 1 only, no alarm; 1: bit 0; 2 again: in the band (not 0) so still firing;
    # 0: clears; 8: bit 3; 13: excluded but not 0 (band); 0: clears
    assert kinds(events) == [("fired", 1), ("resolved", 3), ("fired", 4), ("resolved", 6)]


def test_rate_of_change_over_a_window_strictly_above() -> None:
    e = engine(
        """
        rules:
          - id: heating
            select: {asset: server-room-1, metric: temperature}
            when: {rate_above: 0.5, window: 2m}
        """
    )
    # exactly 0.5/min over 2 minutes: not above
    feed = [(0, 20.0), (60, 20.5), (120, 21.0)]
    assert e.process([r("server-room-1", "temperature", t, v) for t, v in feed]) == []
    events = e.process([r("server-room-1", "temperature", 180, 21.6)])  # 1.1 over 2m
    assert kinds(events) == [("fired", 180)]
    assert events[0].trend_per_min is not None
    assert math.isclose(events[0].trend_per_min, 0.55)
    events = e.process([r("server-room-1", "temperature", 300, 21.6)])
    assert kinds(events) == [("resolved", 300)]


def test_stale_fires_at_the_edge_only_while_the_site_is_alive() -> None:
    e = engine(
        """
        rules:
          - id: silent
            select: {asset: server-room-1, metric: temperature}
            when: {no_data_for: 10m}
        """
    )
    e.process([r("server-room-1", "temperature", 0, 21), r("server-room-1", "humidity", 0, 40)])
    e.process([r("server-room-1", "humidity", 590, 40)])
    assert e.tick(599.9) == []
    assert kinds(e.tick(600)) == [("fired", 600)]
    assert kinds(e.process([r("server-room-1", "temperature", 700, 21)])) == [("resolved", 700)]


def test_a_silent_site_is_one_incident_and_suppresses_stale_alerts() -> None:
    e = engine(
        """
        rules:
          - id: silent
            select: {class: pump}
            when: {no_data_for: 5m}
          - id: offline
            when: {site_silent_for: 5m}
            priority: P2
        """
    )
    metrics = ("vibration.rms", "vibration.peak", "bearing_temp")
    e.process([r(a, m, 0, 1) for a in ("pump-1", "pump-2") for m in metrics])
    assert e.tick(299) == []
    events = e.tick(300)
    assert [(ev.rule_id, str(ev.kind), ev.ts, ev.site) for ev in events] == [
        ("offline", "fired", 300, SITE)
    ]
    assert e.tick(3600) == []  # no per-sensor storm later either
    back = e.process([r("pump-1", "bearing_temp", 4000, 1)])
    assert [(ev.rule_id, str(ev.kind)) for ev in back] == [("offline", "resolved")]


def test_repetition_counts_within_the_window_inclusive() -> None:
    text = """
        rules:
          - id: door
            select: {class: lift, metric: door_fault_code}
            when: {expr: value != 0}
            priority: P4
          - id: door-again
            when: {repeated: door, times: 3, within: 60s, group_by: [floor]}
            priority: P2
    """
    e = engine(text)
    faults = [(0, "lift-a1"), (1, "lift-a1"), (30, "lift-a2"), (31, "lift-a2"), (60, "lift-a1")]
    events = e.process([r(a, "door_fault_code", t, 0 if t % 2 else 5) for t, a in faults])
    rep = [ev for ev in events if ev.rule_id == "door-again"]
    assert [(str(ev.kind), ev.ts, ev.priority, ev.potentially_critical) for ev in rep] == [
        ("fired", 60, 2, True)
    ]
    assert len(rep[0].related) == 2  # lift-a1 twice (one incident key) and lift-a2
    e2 = engine(text)
    late = [(0, "lift-a1"), (1, "lift-a1"), (30, "lift-a2"), (31, "lift-a2"), (61, "lift-a1")]
    events = e2.process([r(a, "door_fault_code", t, 0 if t % 2 else 5) for t, a in late])
    assert [ev for ev in events if ev.rule_id == "door-again"] == []


def test_repetition_that_keeps_growing_is_escalated() -> None:
    e = engine(
        """
        rules:
          - id: door
            select: {class: lift, metric: door_fault_code}
            when: {expr: value != 0}
            ticket: false
          - id: door-again
            when: {repeated: door, times: 2, within: 1h, group_by: [building]}
            priority: P3
        """
    )
    feed = [(t, 5 if t % 20 == 0 else 0) for t in range(0, 61, 10)]
    events = e.process([r("lift-a1", "door_fault_code", t, v) for t, v in feed])
    # faults at 0, 20, 40, 60: the 2nd fires (P3 raised to the lift floor P2), the 3rd
    # escalates to P1, the 4th changes nothing (already P1)
    assert [(str(ev.kind), ev.ts, ev.priority) for ev in events] == [
        ("fired", 20, 2),
        ("escalated", 40, 1),
    ]


def test_composite_any_within_a_window() -> None:
    e = engine(
        """
        rules:
          - id: a
            select: {asset: pump-1, metric: bearing_temp}
            when: {above: 80}
            ticket: false
          - id: b
            select: {asset: pump-1, metric: vibration.rms}
            when: {above: 7}
            ticket: false
          - id: either
            when: {any: [a, b], within: 5m}
        """
    )
    events = e.process([r("pump-1", "bearing_temp", 0, 90), r("pump-1", "bearing_temp", 10, 50)])
    assert kinds(events) == [("fired", 0)]
    assert e.tick(309) == []
    assert kinds(e.tick(311)) == [("resolved", 310)]


def test_anomaly_signals_go_through_the_same_machine_with_evidence() -> None:
    e = engine(
        """
        rules:
          - id: zone-c
            select: {class: pump, metric: "*:days_to_zone_c"}
            when: {below: 14}
            for: 1h
            ticket:
              title: "{asset.name}: zone C in {value} days ({evidence.forecast_date})"
        """
    )
    evidence = {"forecast_date": "2026-12-07", "trend_per_day": 0.12}
    s = [DerivedSignal(SITE, "pump-1", "vibration.rms:days_to_zone_c", 0, 12.4, evidence)]
    assert e.process(s) == []
    (event,) = e.tick(3600)
    assert event.kind == EventKind.FIRED
    assert event.predictive
    assert event.title == "Chilled water pump 1: zone C in 12.4 days (2026-12-07)"


def test_priority_floor_and_class_escalation() -> None:
    e = engine(
        """
        rules:
          - id: minor
            select: {metric: [door_close_time, bearing_temp]}
            when: {above: 100}
            priority: P4
          - id: own-escalation
            select: {asset: lift-a2, metric: speed}
            when: {above: 5}
            priority: P3
            ticket:
              escalate: [{after: 2m, queue: lifts}]
        """
    )
    events = e.process(
        [
            r("lift-a1", "door_close_time", 0, 101),
            r("pump-1", "bearing_temp", 0, 101),
            r("lift-a2", "speed", 0, 6),
        ]
    )
    by_asset = {ev.asset.id: ev for ev in events if ev.asset}
    assert by_asset["lift-a1"].priority == 2
    assert by_asset["pump-1"].priority == 4
    (esc,) = by_asset["lift-a1"].policy.escalations
    assert (esc.after, esc.raise_priority_to) == (300.0, 1)
    assert by_asset["pump-1"].policy.escalations == ()
    assert [x.queue for x in by_asset["lift-a2"].policy.escalations] == ["lifts"]


def test_updates_every_interval_in_event_time_and_out_of_order_readings() -> None:
    e = engine(
        """
        rules:
          - id: rope
            select: {class: lift, metric: rope_break}
            when: {expr: value == 1}
            ticket: {update_every: 5m}
        """
    )
    e.process([r("lift-a1", "rope_break", 100, 1)])
    assert e.tick(399.9) == []
    assert kinds(e.tick(400)) == [("updated", 400)]
    assert kinds(e.tick(2000)) == [("updated", 1900)]  # a gap: only the latest reminder
    assert e.process([r("lift-a1", "rope_break", 50, 0)]) == []
    assert e.stats["out_of_order"] == 1
