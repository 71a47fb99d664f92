"""The replay clock skips the ticks before ``Engine.next_wakeup``: the events, the final
state and the ticks ``on_tick`` sees equal those of ticking every interval, for stored
history (``replay_history``) and for readings (``replay``) alike.

Every kind of rule is in play (the shipped rules: thresholds with for, clear_for and
keep_firing_for, state expressions, rate, stale, a whole site going silent,
repetition, an all-composite; plus an any-composite and a site rule for one site),
with silences that hold back FIREDs and a clock interval that is not a binary
fraction, over hypothesis-generated streams of readings with gaps.
"""

from __future__ import annotations

import dataclasses
import math

from gatewatch.core.events import AlertEvent
from gatewatch.core.reading import Reading
from gatewatch.rules.engine import Engine, _before
from gatewatch.rules.language.load import load_rules
from gatewatch.rules.language.model import RuleSet
from gatewatch.rules.language.silence import Match, Silence
from gatewatch.rules.replay import History, replay, replay_history
from hypothesis import given, settings
from hypothesis import strategies as st
from rulehelpers import ASSETS, EVERY_KIND

RULES = EVERY_KIND
# Without the stale and site rules, whose overdue timers tick every interval and so
# would hide a missed repetition or composite due time:
UNWATCHED = dataclasses.replace(
    RULES, rules=tuple(r for r in RULES.rules if r.condition.kind not in ("stale", "site_silent"))
)
SERIES = [  # (site, asset, metric), and values around their rules' limits
    ("hq", "lift-a1", "rope_break", (0.0, 1.0)),
    ("hq", "lift-a1", "door_fault_code", (0.0, 17.0)),
    ("hq", "lift-a2", "door_fault_code", (0.0, 0.0, 23.0)),
    ("hq", "lift-a2", "door_close_time", (5.0, 7.0, 9.0)),
    ("hq", "server-room-1", "temperature", (22.0, 24.5, 26.0, 28.0, 35.0)),
    ("hq", "server-room-1", "crac_running", (0.0, 1.0)),
    ("annex", "pump-1", "bearing_temp", (40.0, 95.0)),
    ("annex", "fire-panel-1", "alarm", (0.0, 1.0)),
]
T0 = 1_764_000_000.0
GAPS = (0.0, 0.0, 1.5, 3.3, 10.0, 30.0, 61.0, 130.0, 400.0, 700.0)

readings = st.lists(
    st.tuples(st.sampled_from(GAPS), st.integers(0, len(SERIES) - 1), st.integers(0, 4)),
    min_size=1,
    max_size=120,
)


def stream(steps: list[tuple[float, int, int]]) -> list[tuple[int, float, float]]:
    """(series key, ts, value) rows in time order."""
    rows, ts = [], T0
    for gap, key, pick in steps:
        ts += gap
        values = SERIES[key][3]
        rows.append((key, ts, values[pick % len(values)]))
    return rows


def engine(silenced: tuple[float, float] | None, rules: RuleSet = RULES) -> Engine:
    e = Engine(rules, ASSETS, default_site="hq")
    if silenced is not None:
        lifts = Match({"class": frozenset({"lift"})})
        e.set_silences([Silence("s", lifts, T0 + silenced[0], T0 + silenced[0] + silenced[1])])
    return e


def every_tick(
    e: Engine, rows: list[tuple[int, float, float]], until: float, tick: float
) -> tuple[list[AlertEvent], list[float]]:
    """The reference: one reading at a time, a tick at every interval."""
    names = {k: s[:3] for k, s in enumerate(SERIES)}
    out, clock, ticks = [], T0, []
    for row in rows:
        if row[1] > until:
            break
        while clock < row[1]:
            out += e.tick(clock)
            ticks.append(clock)
            clock += tick
        out += e.process_keyed([row], names)
    while clock <= until:
        out += e.tick(clock)
        ticks.append(clock)
        clock += tick
    return out, ticks


@settings(max_examples=300, deadline=None)
@given(
    steps=readings,
    tail=st.sampled_from([0.0, 45.0, 900.0, 4000.0]),
    tick=st.sampled_from([10.0, 3.3, 60.0]),
    chunk=st.integers(1, 50),
    silenced=st.none() | st.tuples(st.sampled_from([0.0, 200.0, 1000.0]), st.just(900.0)),
    rules=st.sampled_from([RULES, UNWATCHED]),
)
def test_skipped_ticks_change_nothing(
    *,
    rules: RuleSet,
    steps: list[tuple[float, int, int]],
    tail: float,
    tick: float,
    chunk: int,
    silenced: tuple[float, float] | None,
) -> None:
    rows = stream(steps)
    until = rows[-1][1] + tail
    reference = engine(silenced, rules)
    expected, expected_ticks = every_tick(reference, rows, until, tick)
    skipping, ticks = engine(silenced, rules), list[float]()
    names = {k: s[:3] for k, s in enumerate(SERIES)}
    chunks = (rows[i : i + chunk] for i in range(0, len(rows), chunk))
    events = replay_history(
        skipping, History(names, chunks), start=T0, until=until, tick=tick, on_tick=ticks.append
    )
    assert events == expected
    assert ticks == expected_ticks
    assert skipping.export_state() == reference.export_state()
    live, live_ticks = engine(silenced, rules), list[float]()
    readings = [Reading(*SERIES[key][:3], ts, value) for key, ts, value in rows]
    events = replay(live, readings, start=T0, until=until, tick=tick, on_tick=live_ticks.append)
    assert events == expected
    assert live_ticks == expected_ticks
    assert live.export_state() == reference.export_state()


def test_the_scenario_exercises_every_wakeup() -> None:
    """A hand-made stream in which each kind of timer acts."""
    lift_faults = [(0.0, 1, 1), (10.0, 1, 0), (200.0, 2, 2), (10.0, 2, 0), (200.0, 1, 1)]
    room = [(60.0, 4, 3), (60.0, 4, 4), (60.0, 5, 0), (60.0, 4, 4), (60.0, 3, 2)]
    quiet_annex = [(130.0, 0, 0), (130.0, 0, 0), (700.0, 6, 1), (61.0, 7, 0)]
    rows = stream(lift_faults + room + quiet_annex)
    until = rows[-1][1] + 4000.0
    expected, _ = every_tick(engine((0.0, 900.0)), rows, until, 10.0)
    events, ran = skipping_replay(engine((0.0, 900.0)), rows, until)
    assert events == expected
    fired = {e.rule_id for e in events if e.kind == "fired"}
    assert {"lift-door-fault-repeated", "site-offline", "annex-offline"} <= fired
    assert {"server-room-cooling-failure", "lift-any-trouble", "lift-door-fault"} <= fired
    assert ran < (until - T0) / 10.0  # and some ticks were skipped


def skipping_replay(
    e: Engine, rows: list[tuple[int, float, float]], until: float
) -> tuple[list[AlertEvent], int]:
    """replay_history, and how many ticks it ran (the engine counts them: a compiled
    Engine's methods cannot be wrapped)."""
    names = {k: s[:3] for k, s in enumerate(SERIES)}
    events = replay_history(e, History(names, [rows]), start=T0, until=until, tick=10.0)
    return events, e.stats["ticks"]


def test_a_healthy_stream_runs_one_tick_in_many() -> None:
    """Every series reports each minute, nothing alerts: a tick runs only when the
    stale timers' lower bound (renewed by a tick, every 10 minutes here) comes due."""
    rows = stream([(60.0 if k == 0 else 0.0, k, 0) for _ in range(120) for k in range(8)])
    until = rows[-1][1]
    expected, all_ticks = every_tick(engine(None), rows, until, 10.0)
    events, ran = skipping_replay(engine(None), rows, until)
    assert events == expected
    assert len(all_ticks) == 721
    assert 1 <= ran < len(all_ticks) / 40
    first = engine(None)
    replay_history(first, History({}, []), start=T0, until=T0, tick=10.0)
    assert first.stats["ticks"] == 1  # the first tick is never skipped


def test_wakeup_is_now_when_nothing_has_ticked_or_a_silence_holds_a_fired() -> None:
    e = engine((0.0, 900.0))
    assert e.next_wakeup() == -math.inf  # no origin yet
    e.tick(T0)
    assert math.isfinite(e.next_wakeup())  # the site silence timer
    names = {k: s[:3] for k, s in enumerate(SERIES)}
    assert e.process_keyed([(0, T0 + 1.0, 1.0)], names) == []  # rope break, silenced
    assert e.next_wakeup() == -math.inf


def test_wakeup_follows_the_pending_for_and_nothing_else() -> None:
    rules = """
    rules:
      - id: slow
        select: {class: lift, metric: door_close_time}
        when: {above: 8, clear: 6}
        for: 1m
        priority: P3
      - id: slow-anywhere
        when: {any: [slow], within: 3m}
        priority: P3
    """
    e = Engine(load_rules([("r.yaml", rules.replace("\n    ", "\n"))], ASSETS), ASSETS)
    e.tick(T0)
    assert e.next_wakeup() == math.inf  # nothing pending, no composite active: no timer
    e.process_keyed([(3, T0 + 5.0, 9.0)], {3: SERIES[3][:3]})
    assert e.next_wakeup() == T0 + 65.0  # the for of the pending alert


@given(
    t=st.floats(-1e12, 1e12) | st.sampled_from([T0, 0.1, 1.0]),
    span=st.floats(0.0, 1e9) | st.sampled_from([0.1, 180.0, 3600.0]),
    ulps=st.integers(-64, 64),
)
def test_before_is_below_every_rounding_of_the_window_tests(
    t: float, span: float, ulps: int
) -> None:
    """A tick before ``_before(t, span)`` finds neither ``t < now - span`` (repetition
    logs) nor ``now - t > span`` (composite members), even a few ulps from the edge."""
    now = t + span
    for _ in range(abs(ulps)):
        now = math.nextafter(now, math.copysign(math.inf, ulps))
    if now < _before(t, span):
        assert not t < now - span
        assert not now - t > span
