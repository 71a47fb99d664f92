"""The adapter contract: the ticket lifecycle and idempotency, written once for every desk.

Each test runs once per desk (the ``probe`` fixture, conftest.py): events go
through the real outbox and worker into the adapter, and the probe reads the
desk back. A new adapter is done when it passes this file and
test_contract_errors.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from gatewatch.core.events import EventKind
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.actions import ActionKind, TicketAction
from gatewatch.ticketing_client.adapters.base import Adapter
from harness import Desk, drain, open_desk
from probe import Probe
from ticket_events import T0, lift, pump, server_room

R = TypeVar("R")


def key(name: str) -> str:
    return f"{name}/{uuid.uuid4().hex[:8]}"


def deliver(desk: Desk, probe: Probe) -> None:
    drain(desk.worker(probe.adapter(desk)))


def direct(desk: Desk, probe: Probe, call: Callable[[Adapter], Awaitable[R]]) -> R:
    """One adapter call outside the worker (its client closed afterwards)."""

    async def go() -> R:
        adapter = probe.adapter(desk)
        try:
            return await call(adapter)
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def test_create_carries_subject_priority_asset_card_and_key(tmp_path: Path, probe: Probe) -> None:
    desk, k = open_desk(tmp_path), key("server-room-hot")
    desk.event(server_room(key=k))
    deliver(desk, probe)
    ticket = desk.ticket(k)
    assert ticket is not None and probe.tickets_for(k) == [ticket]
    subject = probe.subject(ticket)
    assert subject.startswith("[P1] Server room temperature above 27 C — Server room A"), subject
    assert probe.priority(ticket) == 1 and not probe.resolved(ticket)
    [body] = probe.texts(ticket)
    assert "Building: HQ / Floor: 3 / Room: 3.14" in body
    assert "Responsible: CoolAir GmbH (contractor), contact +49 30 1234 567" in body
    assert "Maintenance checklist: https://wiki.example.org/checklists/server-room-cooling" in body
    assert "Current value: temperature: 31.2 C (threshold 27 C)" in body
    assert f"Incident key: {k}" in body


def test_predictive_create_takes_its_trend_plot_or_says_why(tmp_path: Path, probe: Probe) -> None:
    """A file is never dropped silently: the desk gets it, or the ticket text says so."""
    desk, k = open_desk(tmp_path), key("pump-zone-c-forecast")
    desk.event(pump(key=k))
    adapter = probe.adapter(desk)
    worker = desk.worker(adapter)
    drain(worker)
    ticket = desk.ticket(k)
    assert ticket is not None and probe.priority(ticket) == 3
    [body] = probe.texts(ticket)
    note = f"trend plot not attached: {adapter.name} adapter does not take attachments"
    if adapter.takes_attachments:
        assert "not attached" not in body and worker.stats.attachments == {"sent": 1}
    else:
        assert note in body and worker.stats.attachments == {"unsupported": 1}


def test_every_priority_maps_and_reads_back(tmp_path: Path, probe: Probe) -> None:
    desk = open_desk(tmp_path)
    keys = {p: key(f"p{p}") for p in (1, 2, 3, 4)}
    for p, k in keys.items():
        desk.event(server_room(key=k, priority=p))
    deliver(desk, probe)
    assert {p: probe.priority(desk.ticket(k) or "") for p, k in keys.items()} == {
        1: 1,
        2: 2,
        3: 3,
        4: 4,
    }


def test_updates_are_comments_on_the_same_open_ticket(tmp_path: Path, probe: Probe) -> None:
    desk, k = open_desk(tmp_path), key("lift-rope")
    desk.event(lift(key=k))
    for n in (1, 2):
        desk.event(lift(EventKind.UPDATED, key=k, ts=T0 + 300 * n, value=1.0))
    desk.event(lift(EventKind.RESOLVED, key=k, ts=T0 + 700, value=0.0))
    deliver(desk, probe)
    ticket = desk.ticket(k) or ""
    texts = probe.texts(ticket)
    assert len(texts) == 4, texts  # description, two updates, recovery note
    assert texts[1].startswith("Still firing: 1 (threshold 0.5).")
    assert "Leaving the ticket open" in texts[3]
    assert probe.tickets_for(k) == [ticket] and not probe.resolved(ticket)


def test_sla_escalation_raises_priority_and_moves_queue_once(tmp_path: Path, probe: Probe) -> None:
    desk, k = open_desk(tmp_path), key("server-room-hot")
    desk.event(server_room(key=k, priority=2))
    deliver(desk, probe)
    ticket = desk.ticket(k) or ""
    assert probe.priority(ticket) == 2
    assert desk.tick(T0 + 419) == [] and len(desk.tick(T0 + 420)) == 1
    deliver(desk, probe)
    assert probe.priority(ticket) == 1 and probe.queue(ticket) == probe.escalation_queue
    escalations = [t for t in probe.texts(ticket) if t.startswith("SLA escalation")]
    assert len(escalations) == 1 and "Call the supervisor." in escalations[0]


def test_acknowledgement_is_read_back_and_stops_escalation(tmp_path: Path, probe: Probe) -> None:
    desk, k = open_desk(tmp_path), key("server-room-hot")
    desk.event(server_room(key=k, priority=2))
    deliver(desk, probe)
    ticket = desk.ticket(k) or ""
    assert direct(desk, probe, lambda a: a.acknowledged(ticket)) is False
    probe.acknowledge(ticket)
    assert direct(desk, probe, lambda a: a.acknowledged(ticket)) is True
    desk.tick(T0 + 420)
    deliver(desk, probe)
    assert probe.priority(ticket) == 2
    assert not [t for t in probe.texts(ticket) if t.startswith("SLA escalation")]
    state = outbox.load_state(desk.conn, k)
    assert state is not None and state.acknowledged


def test_recovery_note_then_resolve(tmp_path: Path, probe: Probe) -> None:
    desk, k = open_desk(tmp_path), key("server-room-hot")
    desk.event(server_room(key=k))
    desk.event(server_room(EventKind.RESOLVED, key=k, ts=T0 + 1200, value=24.5))
    deliver(desk, probe)
    ticket = desk.ticket(k) or ""
    assert probe.resolved(ticket)
    last = probe.texts(ticket)[-1]
    assert "Back in range" in last and "24.5 C" in last and "Resolving the ticket" in last


def test_reopen_is_the_same_ticket_and_escalates_at_the_second(
    tmp_path: Path, probe: Probe
) -> None:
    desk, k = open_desk(tmp_path), key("door-fault")
    for n in range(3):
        start = T0 + 1000 * n
        desk.event(server_room(key=k, ts=start, priority=3))
        deliver(desk, probe)
        ticket = desk.ticket(k) or ""
        assert not probe.resolved(ticket)
        if n == 1:
            assert probe.priority(ticket) == 3 and "reopen #1" in probe.texts(ticket)[-1]
        desk.event(server_room(EventKind.RESOLVED, key=k, ts=start + 500, priority=3))
        deliver(desk, probe)
        assert probe.resolved(ticket)
    assert probe.tickets_for(k) == [ticket]
    assert probe.priority(ticket) == 1
    assert any("Escalated: the fault returned 2 times" in t for t in probe.texts(ticket))


def test_create_after_a_lost_local_commit_finds_the_ticket(tmp_path: Path, probe: Probe) -> None:
    """The crash case: the desk created the ticket, the local commit never happened."""
    desk, k = open_desk(tmp_path), key("server-room-hot")
    [action_id] = desk.event(server_room(key=k))
    deliver(desk, probe)
    ticket = desk.ticket(k)
    with outbox.transaction(desk.conn):
        desk.conn.execute("DELETE FROM ticket_map")
        desk.conn.execute(
            "UPDATE ticket_outbox SET state = 'pending', attempts = 0 WHERE id = ?", (action_id,)
        )
    deliver(desk, probe)
    assert probe.tickets_for(k) == [ticket] and desk.ticket(k) == ticket
    assert len(probe.texts(ticket or "")) == 1


def test_find_sees_the_open_ticket_and_create_twice_is_one_ticket(
    tmp_path: Path, probe: Probe
) -> None:
    desk, k = open_desk(tmp_path), key("server-room-hot")
    action = TicketAction(ActionKind.CREATE, k, subject="[P3] idempotency", text="x", priority=3)
    assert direct(desk, probe, lambda a: a.find(k)) is None
    first = direct(desk, probe, lambda a: a.create(action))
    assert direct(desk, probe, lambda a: a.create(action)) == first
    assert direct(desk, probe, lambda a: a.find(k)) == first
    assert probe.tickets_for(k) == [first]


def test_delivered_tells_whether_an_unanswered_attempt_landed(tmp_path: Path, probe: Probe) -> None:
    """After a crash or a timeout the worker asks the desk before sending again."""
    desk, k = open_desk(tmp_path), key("server-room-hot")
    desk.event(server_room(key=k))
    deliver(desk, probe)
    ticket = desk.ticket(k) or ""
    note = TicketAction(ActionKind.UPDATE, k, text=f"Still firing: {uuid.uuid4().hex}.")
    assert direct(desk, probe, lambda a: a.delivered(ticket, note)) is False
    direct(desk, probe, lambda a: a.comment(ticket, note))
    assert direct(desk, probe, lambda a: a.delivered(ticket, note)) is True
    assert sum(note.text in t for t in probe.texts(ticket)) == 1


def test_an_update_whose_answer_was_lost_is_not_posted_again(tmp_path: Path, probe: Probe) -> None:
    """The desk saved the note, then the gateway lost power before recording it."""
    desk, k = open_desk(tmp_path), key("lift-rope")
    desk.event(lift(key=k))
    deliver(desk, probe)
    ticket = desk.ticket(k) or ""
    [action_id] = desk.event(lift(EventKind.UPDATED, key=k, ts=T0 + 300))
    [queued] = [r for r in outbox.list_rows(desk.conn) if r.id == action_id]
    update = TicketAction.from_json(
        desk.conn.execute(
            "SELECT payload FROM ticket_outbox WHERE id = ?", (action_id,)
        ).fetchone()[0]
    )
    direct(desk, probe, lambda a: a.comment(ticket, update))  # reached the desk ...
    with outbox.transaction(desk.conn):  # ... but the attempt never finished here
        desk.conn.execute(
            "UPDATE ticket_outbox SET attempt_started = ? WHERE id = ?", (T0 - 3600, queued.id)
        )
    deliver(desk, probe)
    assert outbox.counts(desk.conn) == {"done": 2}
    texts = probe.texts(ticket)
    assert len(texts) == 2 and texts[1].startswith(update.text), texts
