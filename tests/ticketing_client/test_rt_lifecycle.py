"""Each lifecycle step against a real Request Tracker on loopback, clock injected."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from gatewatch.core.events import EventKind, TicketPolicy
from gatewatch.ticketing_client import outbox
from harness import Desk, drain, open_desk
from rt_client import RTReader
from ticket_events import T0, lift, server_room

pytestmark = pytest.mark.slow


def key(name: str) -> str:
    return f"{name}/{uuid.uuid4().hex[:8]}"


def deliver(desk: Desk, rt: RTReader) -> None:
    drain(desk.worker(rt.adapter()))


def test_create_carries_priority_title_asset_card_and_key(tmp_path: Path, rt: RTReader) -> None:
    desk, k = open_desk(tmp_path), key("server-room-hot")
    desk.event(server_room(key=k))
    deliver(desk, rt)
    ticket = desk.ticket(k)
    assert ticket is not None and rt.tickets_for(k) == [ticket]
    data = rt.ticket(ticket)
    assert data["Subject"].startswith("[P1] Server room temperature above 27 C — Server room A")
    assert data["Priority"] == "100" and data["Status"] == "new"
    assert rt.queue_name(ticket) == "Building Services"
    [body] = rt.comments(ticket)
    assert "Building: HQ / Floor: 3 / Room: 3.14" in body
    assert "Responsible: CoolAir GmbH (contractor), contact +49 30 1234 567" in body
    assert "Maintenance checklist: https://wiki.example.org/checklists/server-room-cooling" in body
    assert "Current value: temperature: 31.2 C (threshold 27 C)" in body
    assert "Trend: rising 0.4 C/min" in body and "Next update: by " in body


def test_priorities_map_per_backend(tmp_path: Path, rt: RTReader) -> None:
    desk = open_desk(tmp_path)
    keys = {p: key(f"p{p}") for p in (1, 2, 3, 4)}
    for p, k in keys.items():
        desk.event(server_room(key=k, priority=p))
    deliver(desk, rt)
    got = {p: rt.priority(desk.ticket(k) or "") for p, k in keys.items()}
    assert got == {1: 100, 2: 75, 3: 50, 4: 25}


def test_periodic_updates_while_firing_none_after_clear(tmp_path: Path, rt: RTReader) -> None:
    desk, k = open_desk(tmp_path), key("lift-rope")
    desk.event(lift(key=k))
    for n in (1, 2):  # the lift rule updates every 5 minutes
        desk.event(lift(EventKind.UPDATED, key=k, ts=T0 + 300 * n, value=1.0))
    desk.event(lift(EventKind.RESOLVED, key=k, ts=T0 + 700, value=0.0))
    desk.event(lift(EventKind.UPDATED, key=k, ts=T0 + 900))
    deliver(desk, rt)
    ticket = desk.ticket(k) or ""
    texts = rt.comments(ticket)
    assert len(texts) == 4, texts  # create, 2 updates, recovery
    assert texts[1].startswith("Still firing: 1 (threshold 0.5).")
    assert texts[3].startswith("Back in range at")
    assert "Leaving the ticket open" in texts[3]
    assert rt.ticket(ticket)["Status"] == "new"  # lift policy: leave open


def test_sla_escalation_once_when_nobody_acknowledges(tmp_path: Path, rt: RTReader) -> None:
    desk, k = open_desk(tmp_path), key("server-room-hot")
    desk.event(server_room(key=k, priority=2))
    deliver(desk, rt)
    ticket = desk.ticket(k) or ""
    assert rt.priority(ticket) == 75
    assert desk.tick(T0 + 419) == []
    assert len(desk.tick(T0 + 420)) == 1
    assert desk.tick(T0 + 900) == []  # never repeatedly
    deliver(desk, rt)
    assert rt.priority(ticket) == 100 and rt.queue_name(ticket) == "Supervisors"
    escalations = [t for t in rt.comments(ticket) if t.startswith("SLA escalation")]
    assert len(escalations) == 1 and "not acknowledged within 7 min" in escalations[0]
    assert "Call the supervisor." in escalations[0]


def test_no_escalation_when_the_technician_takes_it(tmp_path: Path, rt: RTReader) -> None:
    desk, k = open_desk(tmp_path), key("server-room-hot")
    desk.event(server_room(key=k, priority=2))
    deliver(desk, rt)
    ticket = desk.ticket(k) or ""
    rt.take_as_tech(ticket)
    desk.tick(T0 + 420)
    deliver(desk, rt)
    assert rt.priority(ticket) == 75 and rt.queue_name(ticket) == "Building Services"
    assert not [t for t in rt.comments(ticket) if t.startswith("SLA escalation")]
    state = outbox.load_state(desk.conn, k)
    assert state is not None and state.acknowledged
    assert desk.tick(T0 + 3600) == []


def test_no_escalation_when_the_technician_opens_it_without_taking(
    tmp_path: Path, rt: RTReader
) -> None:
    desk, k = open_desk(tmp_path), key("lift-rope")
    desk.event(lift(key=k, priority=2))
    deliver(desk, rt)
    ticket = desk.ticket(k) or ""
    rt.open_as_tech(ticket)  # status moved from new by a person, owner still Nobody
    desk.tick(T0 + 300)  # the lift rule's 5-minute SLA
    deliver(desk, rt)
    assert rt.priority(ticket) == 75
    state = outbox.load_state(desk.conn, k)
    assert state is not None and state.acknowledged


def test_our_own_reopen_is_not_an_acknowledgement(tmp_path: Path, rt: RTReader) -> None:
    desk, k = open_desk(tmp_path), key("server-room-hot")
    desk.event(server_room(key=k, priority=2))
    desk.event(server_room(EventKind.RESOLVED, key=k, ts=T0 + 60, priority=2))
    desk.event(server_room(key=k, ts=T0 + 120, priority=2))  # reopen #1 sets status open
    deliver(desk, rt)
    ticket = desk.ticket(k) or ""
    assert rt.ticket(ticket)["Status"] == "open"
    desk.tick(T0 + 120 + 420)
    deliver(desk, rt)
    assert rt.priority(ticket) == 100 and rt.queue_name(ticket) == "Supervisors"


def test_recovery_comment_and_resolve(tmp_path: Path, rt: RTReader) -> None:
    desk, k = open_desk(tmp_path), key("server-room-hot")
    desk.event(server_room(key=k))
    desk.event(server_room(EventKind.RESOLVED, key=k, ts=T0 + 1200, value=24.5))
    deliver(desk, rt)
    ticket = desk.ticket(k) or ""
    assert rt.ticket(ticket)["Status"] == "resolved"
    last = rt.comments(ticket)[-1]
    assert "Back in range" in last and "24.5 C" in last and "Resolving the ticket" in last


def test_reopen_same_ticket_and_escalate_at_second_reopen(tmp_path: Path, rt: RTReader) -> None:
    desk, k = open_desk(tmp_path), key("door-fault")
    for n in range(3):
        start = T0 + 1000 * n
        desk.event(server_room(key=k, ts=start, priority=3))
        deliver(desk, rt)
        ticket = desk.ticket(k) or ""
        assert rt.ticket(ticket)["Status"] in ("new", "open")
        if n == 1:
            assert rt.priority(ticket) == 50
            assert "reopen #1" in rt.comments(ticket)[-1]
        desk.event(server_room(EventKind.RESOLVED, key=k, ts=start + 500, priority=3))
        deliver(desk, rt)
        assert rt.ticket(ticket)["Status"] == "resolved"
    assert rt.tickets_for(k) == [ticket]  # never a fresh ticket
    assert rt.priority(ticket) == 100
    reopen = [t for t in rt.comments(ticket) if "reopen #2" in t]
    assert reopen and "Escalated: the fault returned 2 times" in reopen[0]


def test_repetition_is_one_potentially_critical_ticket_linking_occurrences(
    tmp_path: Path, rt: RTReader
) -> None:
    desk = open_desk(tmp_path)
    occurrences = tuple(key("light-flicker/f3") for _ in range(3))
    for n, occ in enumerate(occurrences):
        desk.event(server_room(key=occ, ts=T0 + n, priority=4))
    deliver(desk, rt)
    group = key("repetition/f3")
    event = server_room(key=group, ts=T0 + 10, priority=2, related=occurrences)
    desk.event(replace(event, potentially_critical=True))
    desk.event(replace(event, kind=EventKind.ESCALATED, ts=T0 + 20, priority=1))
    deliver(desk, rt)
    ticket = desk.ticket(group) or ""
    assert rt.tickets_for(group) == [ticket]
    assert "POTENTIALLY CRITICAL" in rt.ticket(ticket)["Subject"]
    body = rt.comments(ticket)[0]
    for occ in occurrences:
        assert f"{occ} (ticket {desk.ticket(occ)})" in body
    assert rt.priority(ticket) == 100
    assert sorted(rt.refers_to(ticket)) == sorted(desk.ticket(o) or "" for o in occurrences)


def test_lost_local_map_finds_the_ticket_instead_of_creating(tmp_path: Path, rt: RTReader) -> None:
    """The crash case: remote create happened, the local commit did not."""
    desk, k = open_desk(tmp_path), key("server-room-hot")
    [action_id] = desk.event(server_room(key=k))
    deliver(desk, rt)
    ticket = desk.ticket(k)
    with outbox.transaction(desk.conn):  # roll the local side back to before the commit
        desk.conn.execute("DELETE FROM ticket_map")
        desk.conn.execute(
            "UPDATE ticket_outbox SET state = 'pending', attempts = 0 WHERE id = ?", (action_id,)
        )
    deliver(desk, rt)
    assert rt.tickets_for(k) == [ticket] and desk.ticket(k) == ticket


def test_new_ticket_after_the_reopen_window(tmp_path: Path, rt: RTReader) -> None:
    desk, k = open_desk(tmp_path), key("server-room-hot")
    policy = replace(server_room().policy, reopen_window=60.0)
    desk.event(server_room(key=k, policy=policy))
    desk.event(server_room(EventKind.RESOLVED, key=k, ts=T0 + 100, policy=policy))
    deliver(desk, rt)
    first = desk.ticket(k)
    desk.event(server_room(key=k, ts=T0 + 1000, policy=policy))
    deliver(desk, rt)
    assert desk.ticket(k) != first and sorted(rt.tickets_for(k)) == sorted([first, desk.ticket(k)])
    assert TicketPolicy().reopen_window == 86_400.0
