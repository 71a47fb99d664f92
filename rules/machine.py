"""The alert lifecycle of one (rule, series or group): inactive -> pending -> firing.

Pure functions over a small mutable state, in event time: ``for`` (hold that
long before firing), ``clear_for`` (stay cleared that long before resolving),
``keep_firing_for`` (keep firing that long after the last alarm) and update
reminders every ``update_interval``. Transitions are stamped with the exact
time they became due, so the result does not depend on how often it is
evaluated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from gatewatch.core.events import EventKind
from gatewatch.rules.language.model import ALARM, CLEAR, HOLD, Rule

INACTIVE: Final = 0  # Final: compiled code inlines them
PENDING: Final = 1
FIRING: Final = 2
STATUS_NAMES = ("inactive", "pending", "firing")
Transition = tuple[EventKind, float]


@dataclass(slots=True)
class AlertState:
    key: str
    status: int = INACTIVE
    since: float = 0.0  # condition continuously met since (pending start)
    firing_since: float = 0.0
    clear_since: float | None = None  # firing, and cleared since
    last_alarm: float = -math.inf
    next_update: float = math.inf
    priority: int = 4


def step(
    rule: Rule, st: AlertState, verdict: int, t: float, alarm_since: float | None = None
) -> list[Transition]:
    """Feed one verdict (ALARM / HOLD / CLEAR) observed at ``t``."""
    if verdict == ALARM:
        st.last_alarm = t
    if st.status == INACTIVE:
        if verdict != ALARM:
            return []
        st.status, st.since = PENDING, t if alarm_since is None else alarm_since
    elif st.status == PENDING:
        if verdict != ALARM:
            st.status = INACTIVE
            return []
    elif verdict in (ALARM, HOLD):
        st.clear_since = None
    elif st.clear_since is None:
        st.clear_since = t
    return advance(rule, st, t)


def shift(st: AlertState, delta: float) -> None:
    """Move every time of ``st`` by ``delta`` seconds (the clock that timed them stepped):
    a pending ``for``, a ``clear_for`` and the next reminder keep what is left of them."""
    st.since += delta
    st.firing_since += delta
    if st.clear_since is not None:
        st.clear_since += delta
    st.last_alarm += delta
    st.next_update += delta


def quiet_step(rule: Rule, st: AlertState, verdict: int, t: float) -> bool:
    """``step`` for an active (pending or firing) alert when nothing can happen: True
    if ``step`` would change nothing but ``last_alarm`` (set here); False: call ``step``.

    The engine's hot loop calls this first, so an alert that stays firing costs
    a few comparisons per reading (tests hold it equal to ``step``).
    """
    if verdict == CLEAR or st.clear_since is not None or t >= st.next_update:
        return False
    if st.status == PENDING and (verdict != ALARM or t >= st.since + rule.for_):
        return False
    if verdict == ALARM:
        st.last_alarm = t
    return True


def advance(rule: Rule, st: AlertState, t: float) -> list[Transition]:
    """Let time pass until ``t``: fire a due pending alert, remind, resolve."""
    out: list[Transition] = []
    if st.status == PENDING and t >= st.since + rule.for_:
        st.status, st.firing_since, st.clear_since = FIRING, st.since + rule.for_, None
        interval = rule.policy.update_interval
        st.next_update = st.firing_since + interval if interval else math.inf
        out.append((EventKind.FIRED, st.firing_since))
    if st.status != FIRING:
        return out
    resolve_at = _resolve_due(rule, st)
    _remind(rule, st, min(t, resolve_at), out)
    if t >= resolve_at:
        st.status, st.clear_since, st.next_update = INACTIVE, None, math.inf
        out.append((EventKind.RESOLVED, resolve_at))
    return out


def next_due(rule: Rule, st: AlertState) -> float:
    """The earliest time ``advance`` could change something (inf: only a verdict can)."""
    if st.status == PENDING:
        due: float = st.since + rule.for_
        return due
    if st.status == FIRING:
        return min(st.next_update, _resolve_due(rule, st))
    return math.inf


def _resolve_due(rule: Rule, st: AlertState) -> float:
    if st.clear_since is None:
        return math.inf
    due: float = max(st.clear_since + rule.clear_for, st.last_alarm + rule.keep_firing_for)
    return due


def _remind(rule: Rule, st: AlertState, until: float, out: list[Transition]) -> None:
    interval = rule.policy.update_interval
    if not interval or until < st.next_update:
        return
    missed = math.floor((until - st.next_update) / interval)
    due = st.next_update + missed * interval  # only the latest reminder of a gap
    out.append((EventKind.UPDATED, due))
    st.next_update = due + interval
