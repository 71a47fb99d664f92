from __future__ import annotations

from dataclasses import replace

from gatewatch.core.events import EventKind, TicketPolicy
from gatewatch.ticketing_client.actions import ActionKind
from gatewatch.ticketing_client.lifecycle import Status, due_escalations, on_event
from ticket_events import T0, lift, server_room


def test_fired_creates_with_priority_and_rendered_body() -> None:
    state, actions = on_event(None, server_room(), {})
    assert state is not None and state.status is Status.FIRING and state.opened_at == T0
    [create] = actions
    assert create.kind is ActionKind.CREATE and create.priority == 1
    assert "Building: HQ" in create.text


def test_updates_only_while_firing_and_not_twice_for_one_interval() -> None:
    state, _ = on_event(None, server_room(), {})
    assert state is not None
    state, [update] = on_event(state, server_room(EventKind.UPDATED, ts=T0 + 900), {})
    assert update.kind is ActionKind.UPDATE and "Still firing" in update.text
    assert state is not None
    same, none = on_event(state, server_room(EventKind.UPDATED, ts=T0 + 901), {})
    assert none == [] and same == state
    cleared, [resolve] = on_event(state, server_room(EventKind.RESOLVED, ts=T0 + 1000), {})
    assert resolve.kind is ActionKind.RESOLVE and resolve.close
    assert cleared is not None
    _, after = on_event(cleared, server_room(EventKind.UPDATED, ts=T0 + 1800), {})
    assert after == []


def test_sla_levels_are_enqueued_once_each() -> None:
    state, _ = on_event(None, server_room(), {})
    assert state is not None
    early, none = due_escalations(state, T0 + 419)
    assert none == [] and early.escalation_level == 0
    state, [esc] = due_escalations(state, T0 + 420)
    assert esc.check_ack and esc.level == 1 and esc.queue == "Supervisors"
    assert "not acknowledged within 7 min" in esc.text
    again, repeat = due_escalations(state, T0 + 10_000)
    assert repeat == [] and again == state


def test_acknowledged_incident_never_escalates() -> None:
    state, _ = on_event(None, server_room(), {})
    assert state is not None
    _, actions = due_escalations(replace(state, acknowledged=True), T0 + 3600)
    assert actions == []


def test_reopen_within_window_counts_and_escalates_at_second() -> None:
    state, _ = on_event(None, server_room(priority=2), {})
    state, _ = on_event(state, server_room(EventKind.RESOLVED, ts=T0 + 100), {})
    state, [first] = on_event(state, server_room(ts=T0 + 200, priority=2), {})
    assert first.kind is ActionKind.REOPEN and first.reopen_count == 1 and first.priority is None
    state, _ = on_event(state, server_room(EventKind.RESOLVED, ts=T0 + 300), {})
    state, [second] = on_event(state, server_room(ts=T0 + 400, priority=2), {})
    assert second.reopen_count == 2 and second.priority == 1
    assert "returned 2 times" in second.text
    assert state is not None and state.escalation_level == 0 and state.opened_at == T0 + 400


def test_firing_after_the_reopen_window_opens_a_new_ticket() -> None:
    state, _ = on_event(None, server_room(), {})
    state, _ = on_event(state, server_room(EventKind.RESOLVED, ts=T0 + 100), {})
    state, [create] = on_event(state, server_room(ts=T0 + 100 + 3601), {})
    assert create.kind is ActionKind.CREATE
    assert state is not None and state.reopen_count == 0


def test_leave_open_policy_comments_and_counts_a_comeback() -> None:
    state, _ = on_event(None, lift(), {})
    state, [recover] = on_event(state, lift(EventKind.RESOLVED, ts=T0 + 60), {})
    assert recover.kind is ActionKind.RESOLVE and not recover.close
    assert "Leaving the ticket open" in recover.text
    assert state is not None and state.status is Status.CLEARED
    state, [back] = on_event(state, lift(ts=T0 + 120), {})
    assert back.kind is ActionKind.REOPEN and back.reopen_count == 1


def test_engine_escalation_raises_priority_and_links_occurrences() -> None:
    state, _ = on_event(None, server_room(priority=3), {})
    event = server_room(
        EventKind.ESCALATED, priority=2, potentially_critical=True, related=("a", "b", "c")
    )
    state, [esc] = on_event(state, event, {"a": "5"})
    assert esc.kind is ActionKind.ESCALATE and esc.priority == 2 and not esc.check_ack
    assert "a (ticket 5)" in esc.text
    assert state is not None and state.priority == 2


def test_events_for_unknown_incidents_do_nothing() -> None:
    assert on_event(None, server_room(EventKind.UPDATED), {}) == (None, [])
    assert on_event(None, server_room(EventKind.RESOLVED), {}) == (None, [])


def test_no_updates_when_rule_wants_none() -> None:
    policy = TicketPolicy(update_interval=None)
    state, _ = on_event(None, server_room(policy=policy), {})
    _, actions = on_event(state, server_room(EventKind.UPDATED, ts=T0 + 9999, policy=policy), {})
    assert actions == []
