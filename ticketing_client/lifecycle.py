"""The ticket lifecycle of one incident, as a pure state machine.

``on_event`` maps (state, AlertEvent) to (new state, actions); ``due_escalations``
maps (state, now) to the SLA escalations that fell due. The caller persists the
new state and the actions in one transaction (see outbox.py), so an action is
enqueued exactly once: an SLA level is recorded as enqueued in the same commit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from gatewatch.core.events import AlertEvent, EventKind, TicketPolicy
from gatewatch.ticketing_client import attachments, render
from gatewatch.ticketing_client.actions import ActionKind, TicketAction


class Status(StrEnum):
    FIRING = "firing"
    CLEARED = "cleared"  # back in range, ticket left open per policy
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class IncidentState:
    key: str
    status: Status
    priority: int
    opened_at: float  # ticket created or reopened: the SLA clock starts here
    policy: TicketPolicy
    title: str = ""
    resolved_at: float | None = None
    reopen_count: int = 0
    escalation_level: int = 0  # SLA levels already enqueued
    acknowledged: bool = False
    last_update: float = 0.0
    acknowledged_at: float | None = None  # when a person took it (read from the desk)


def _summary(event: AlertEvent) -> dict[str, object]:
    asset = event.asset
    return {
        "kind": str(event.kind),
        "rule_id": event.rule_id,
        "ts": event.ts,
        "since": event.since,
        "site": event.site,
        "asset": None if asset is None else asset.id,
        "metric": event.metric,
        "value": event.value,
        "threshold": event.threshold,
        "unit": event.unit,
        "trend_per_min": event.trend_per_min,
        "priority": event.priority,
    }


def _action(kind: ActionKind, event: AlertEvent, text: str, **kw: object) -> TicketAction:
    return TicketAction(
        kind=kind,
        incident_key=event.incident_key,
        subject=render.title(event),
        text=text,
        potentially_critical=event.potentially_critical,
        related=event.related,
        event=_summary(event),
        **kw,  # type: ignore[arg-type,unused-ignore]
    )


Step = tuple[IncidentState | None, list[TicketAction]]


def on_event(state: IncidentState | None, event: AlertEvent, tickets: dict[str, str]) -> Step:
    """The actions one event causes; ``tickets`` maps related incident keys to ticket ids."""
    if event.kind is EventKind.FIRED:
        return _fired(state, event, tickets)
    if state is None:
        return None, []  # an update/resolve for an incident without a ticket: nothing to do
    if event.kind is EventKind.UPDATED:
        return _updated(state, event)
    if event.kind is EventKind.RESOLVED:
        return _resolved(state, event)
    return _escalated(state, event, tickets)


def _fired(state: IncidentState | None, event: AlertEvent, tickets: dict[str, str]) -> Step:
    if state is None or _window_passed(state, event):
        return _create(event, tickets)
    if state.status is Status.FIRING:
        return _updated(state, event)
    return _reopen(state, event)


def _window_passed(state: IncidentState, event: AlertEvent) -> bool:
    if state.status is not Status.RESOLVED or state.resolved_at is None:
        return False
    return bool(event.ts - state.resolved_at > event.policy.reopen_window)


def _create(event: AlertEvent, tickets: dict[str, str]) -> Step:
    new = IncidentState(
        key=event.incident_key,
        status=Status.FIRING,
        priority=event.priority,
        opened_at=event.ts,
        policy=event.policy,
        title=event.title,
        last_update=event.ts,
    )
    files, body = attachments.fit(event.attachments, render.body(event, tickets))
    create = _action(ActionKind.CREATE, event, body, priority=event.priority, attachments=files)
    return new, [create]


def _reopen(state: IncidentState, event: AlertEvent) -> Step:
    count = state.reopen_count + 1
    escalate = count >= event.policy.escalate_after_reopens
    priority = 1 if escalate else max(1, min(state.priority, event.priority))
    new = replace(
        state,
        status=Status.FIRING,
        priority=priority,
        opened_at=event.ts,
        policy=event.policy,
        resolved_at=None,
        reopen_count=count,
        escalation_level=0,
        acknowledged=False,
        acknowledged_at=None,
        last_update=event.ts,
    )
    text = render.reopen_text(event, count, escalate=escalate)
    change = priority if priority != state.priority else None
    return new, [_action(ActionKind.REOPEN, event, text, priority=change, reopen_count=count)]


def _updated(state: IncidentState, event: AlertEvent) -> Step:
    if state.status is not Status.FIRING or event.policy.update_interval is None:
        return state, []  # no updates after clear, none when the rule wants none
    if event.ts - state.last_update < event.policy.update_interval / 2:
        return state, []  # a duplicate (replayed event): the desk already has it
    new = replace(state, last_update=event.ts, policy=event.policy)
    return new, [_action(ActionKind.UPDATE, event, render.update_text(event))]


def _resolved(state: IncidentState, event: AlertEvent) -> Step:
    if state.status is not Status.FIRING:
        return state, []
    close = event.policy.resolve_on_clear
    status = Status.RESOLVED if close else Status.CLEARED
    new = replace(state, status=status, resolved_at=event.ts if close else None)
    text = render.recovery_text(event, close=close)
    return new, [_action(ActionKind.RESOLVE, event, text, close=close)]


def _escalated(state: IncidentState, event: AlertEvent, tickets: dict[str, str]) -> Step:
    if state.status is Status.RESOLVED:
        return state, []
    priority = min(state.priority, event.priority)
    change = priority if priority != state.priority else None
    new = replace(state, priority=priority)
    text = render.raise_text(event, tickets)
    return new, [_action(ActionKind.ESCALATE, event, text, priority=change)]


def due_escalations(state: IncidentState, now: float) -> Step:
    """SLA levels that fell due for an unacknowledged firing incident, once each."""
    if state.status is not Status.FIRING or state.acknowledged:
        return state, []
    actions = []
    level = state.escalation_level
    priority = state.priority
    for step in state.policy.escalations[level:]:
        if now - state.opened_at < step.after:
            break
        level += 1
        target = step.raise_priority_to
        change = target if target is not None and target < priority else None
        priority = change or priority
        text = render.escalation_text(level, step.after, step.comment, change, step.queue)
        actions.append(
            TicketAction(
                kind=ActionKind.ESCALATE,
                incident_key=state.key,
                subject=state.title,
                text=text,
                priority=change,
                queue=step.queue,
                check_ack=True,
                level=level,
                event={"kind": "sla", "level": level, "after": step.after},
            )
        )
    return replace(state, escalation_level=level, priority=priority), actions
