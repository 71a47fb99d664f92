"""machine.quiet_step (the engine's shortcut for active alerts) agrees with machine.step."""

from __future__ import annotations

import copy
import dataclasses

from gatewatch.core.events import TicketPolicy
from gatewatch.rules.language.model import ALARM, CLEAR, HOLD
from gatewatch.rules.machine import FIRING, PENDING, AlertState, quiet_step, step
from hypothesis import given
from hypothesis import strategies as st
from rulehelpers import ruleset

BASE = ruleset(
    """
    rules:
      - id: hot
        select: {asset: server-room-1, metric: temperature}
        when: {above: 30, clear: 25}
        for: 1m
        clear_for: 30s
        keep_firing_for: 20s
        priority: P3
    """
).rules[0]
times = st.sampled_from([0.0, 10.0, 29.999, 30.0, 59.0, 60.0, 61.0, 90.0, 120.0])
durations = st.sampled_from([0.0, 30.0, 60.0])


@given(
    status=st.sampled_from([PENDING, FIRING]),
    since=times,
    clear_since=st.none() | times,
    last_alarm=times,
    next_update=st.sampled_from([float("inf"), 30.0, 60.0, 90.0]),
    verdict=st.sampled_from([ALARM, HOLD, CLEAR]),
    t=times,
    for_=durations,
    interval=st.sampled_from([None, 30.0]),
)
def test_quiet_step_changes_exactly_what_step_changes(
    *,
    status: int,
    since: float,
    clear_since: float | None,
    last_alarm: float,
    next_update: float,
    verdict: int,
    t: float,
    for_: float,
    interval: float | None,
) -> None:
    rule = dataclasses.replace(BASE, for_=for_, policy=TicketPolicy(update_interval=interval))
    state = AlertState("k", status, since, since + for_, clear_since, last_alarm, next_update)
    general = copy.copy(state)
    if quiet_step(rule, state, verdict, t):
        assert step(rule, general, verdict, t) == []
        assert state == general


def test_quiet_step_takes_the_steady_cases_and_leaves_the_rest_to_step() -> None:
    firing = AlertState("k", FIRING, 0.0, 60.0, None, 50.0)
    assert quiet_step(BASE, firing, ALARM, 100.0) and firing.last_alarm == 100.0
    assert quiet_step(BASE, firing, HOLD, 110.0) and firing.last_alarm == 100.0
    assert not quiet_step(BASE, firing, CLEAR, 120.0)  # starts clear_for
    pending = AlertState("k", PENDING, 0.0)
    assert quiet_step(BASE, pending, ALARM, 59.0)
    assert not quiet_step(BASE, pending, ALARM, 60.0)  # for: 1m is due: fires
    assert not quiet_step(BASE, pending, HOLD, 30.0)  # back to inactive
