from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from gatewatch.core.events import EventKind
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.actions import ActionKind
from gatewatch.ticketing_client.adapters.local import LocalAdapter, take
from harness import drain, open_desk
from ticket_events import T0, lift, server_room


def test_actions_commit_or_roll_back_with_the_callers_transaction(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    desk.conn.execute("CREATE TABLE alert_state (key TEXT PRIMARY KEY, firing INTEGER)")
    with pytest.raises(RuntimeError), outbox.transaction(desk.conn):
        desk.conn.execute("INSERT INTO alert_state VALUES ('k', 1)")
        outbox.enqueue(desk.conn, server_room())
        raise RuntimeError("the rule engine failed after the state change")
    assert outbox.list_rows(desk.conn) == []
    assert outbox.load_state(desk.conn, server_room().incident_key) is None
    with outbox.transaction(desk.conn):
        desk.conn.execute("INSERT INTO alert_state VALUES ('k', 1)")
        [row_id] = outbox.enqueue(desk.conn, server_room())
    assert [r.id for r in outbox.list_rows(desk.conn)] == [row_id]


def test_heads_are_in_order_per_incident_and_parked_blocks_its_incident(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    a1 = desk.event(server_room())
    b1 = desk.event(lift())
    desk.event(server_room(EventKind.UPDATED, ts=T0 + 900))
    heads = outbox.due_heads(desk.conn, T0 + 900, set(), 10)
    assert [h.id for h in heads] == a1 + b1
    outbox.mark_parked(desk.conn, a1[0], "HTTP 400: bad queue")
    assert [h.id for h in outbox.due_heads(desk.conn, T0 + 900, set(), 10)] == b1
    assert outbox.due_heads(desk.conn, T0 + 900, {lift().incident_key}, 10) == []
    assert outbox.retry(desk.conn, None, T0 + 901) == 1
    assert [h.id for h in outbox.due_heads(desk.conn, T0 + 901, set(), 10)] == a1 + b1


def test_operator_drop_skips_an_action_and_keeps_a_record(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    [a] = desk.event(server_room())
    assert outbox.drop(desk.conn, [a], T0) == 1
    assert outbox.counts(desk.conn) == {"dropped": 1}
    assert outbox.drop(desk.conn, [a], T0) == 0


def test_local_backend_full_lifecycle_with_injected_clock(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    adapter = LocalAdapter(desk.conn, lock=desk.lock, clock=desk.clock)
    desk.event(server_room())
    drain(desk.worker(adapter))
    ticket = desk.ticket(server_room().incident_key)
    assert ticket is not None
    desk.event(server_room(EventKind.UPDATED, ts=T0 + 900, value=33.8))
    desk.tick(T0 + 419)
    assert desk.counts().get("pending", 0) == 1  # only the update; SLA not yet due
    desk.tick(T0 + 420)
    desk.tick(T0 + 1000)  # once per level, never repeatedly
    desk.event(server_room(EventKind.RESOLVED, ts=T0 + 1200))
    desk.event(server_room(EventKind.UPDATED, ts=T0 + 1800))  # after clear: nothing
    drain(desk.worker(LocalAdapter(desk.conn, lock=desk.lock, clock=desk.clock)))
    row = desk.conn.execute(
        "SELECT priority, queue, status FROM local_tickets WHERE id = ?", (int(ticket),)
    ).fetchone()
    assert row == (1, "Supervisors", "resolved")
    kinds = [
        k
        for (k,) in desk.conn.execute(
            "SELECT kind FROM local_ticket_notes WHERE ticket_id = ? ORDER BY rowid", (int(ticket),)
        )
    ]
    assert kinds == ["create", "update", "escalate", "resolve"]
    assert desk.counts() == {"done": 4}


def test_taken_local_ticket_is_not_escalated(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    desk.event(server_room())
    drain(desk.worker(LocalAdapter(desk.conn, lock=desk.lock)))
    ticket = desk.ticket(server_room().incident_key)
    assert ticket is not None
    assert take(desk.conn, int(ticket), "tech", T0 + 60)
    desk.tick(T0 + 420)
    drain(desk.worker(LocalAdapter(desk.conn, lock=desk.lock)))
    row = desk.conn.execute(
        "SELECT priority, queue FROM local_tickets WHERE id = ?", (int(ticket),)
    ).fetchone()
    assert row == (1, "General")
    state = outbox.load_state(desk.conn, server_room().incident_key)
    assert state is not None and state.acknowledged
    assert desk.tick(T0 + 9999) == []


def test_reopen_uses_the_same_local_ticket_and_escalates_the_second_time(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    key = server_room().incident_key
    for n, start in enumerate((T0, T0 + 600, T0 + 1200)):
        desk.event(server_room(ts=start, priority=2))
        desk.event(server_room(EventKind.RESOLVED, ts=start + 300, priority=2))
        drain(desk.worker(LocalAdapter(desk.conn, lock=desk.lock)))
        assert desk.conn.execute("SELECT COUNT(*) FROM local_tickets").fetchone() == (1,), n
    row = desk.conn.execute("SELECT id, priority, reopen_count FROM local_tickets").fetchone()
    assert row == (int(desk.ticket(key) or 0), 1, 2)


def test_queued_action_round_trips_as_json(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    [a] = desk.event(server_room(related=("x", "y"), potentially_critical=True))
    payload = desk.conn.execute("SELECT payload FROM ticket_outbox WHERE id = ?", (a,)).fetchone()
    raw = json.loads(payload[0])
    assert raw["kind"] == "create" and raw["related"] == ["x", "y"]
    [head] = outbox.due_heads(desk.conn, T0, set(), 1)
    assert head.action.kind is ActionKind.CREATE and head.action.related == ("x", "y")


def test_schema_is_idempotent(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    desk.event(server_room())
    again = open_desk(tmp_path)
    assert outbox.counts(again.conn) == {"pending": 1}
    assert isinstance(again.conn, sqlite3.Connection)


def test_recovery_releases_backoff_but_not_retry_after(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    [a] = desk.event(server_room())
    [b] = desk.event(lift())
    outbox.mark_retry(
        desk.conn, a, T0 + 60, "cannot reach 127.0.0.1: refused", maybe_delivered=False
    )
    outbox.mark_retry(desk.conn, b, T0 + 60, "HTTP 429 from /x: slow down", maybe_delivered=False)
    assert outbox.release_backoff(desk.conn, T0 + 1) == 1
    assert [h.id for h in outbox.due_heads(desk.conn, T0 + 1, set(), 10)] == [a]


def test_worker_prunes_delivered_actions_after_a_week(tmp_path: Path) -> None:
    desk = open_desk(tmp_path)
    desk.event(server_room())
    drain(desk.worker(LocalAdapter(desk.conn, lock=desk.lock, clock=desk.clock)))
    desk.event(lift())
    assert outbox.prune_done(desk.conn, T0 - 1) == 0
    assert outbox.prune_done(desk.conn, T0 + 1) == 1
    assert outbox.counts(desk.conn) == {"pending": 1}
