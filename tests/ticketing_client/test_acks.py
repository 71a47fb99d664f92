"""Acknowledgements read from the desk (local backend): recorded once, SLA stops, metrics."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

from gatewatch.core.events import EventKind
from gatewatch.daemon.run.stage_metrics import ack_histogram, read_figures
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.acks import AckPoller
from gatewatch.ticketing_client.adapters.local import LocalAdapter, take
from gatewatch.ticketing_client.errors import RetryableError
from gatewatch.ticketing_client.schema import ensure_schema
from harness import Desk, drain, open_desk
from prometheus_client import CollectorRegistry
from ticket_events import SERVER_POLICY, T0, server_room

# the server-room SLA without the priority raise: the priority stays what it was
NO_RAISE = replace(
    SERVER_POLICY,
    escalations=(replace(SERVER_POLICY.escalations[0], raise_priority_to=None, queue=None),),
)
HIST = "gatewatch_ticket_time_to_acknowledge_seconds"


def poll_once(poller: AckPoller) -> list[outbox.Ack]:
    """One poll round against a real desk, closing the adapter's HTTP client after it."""

    async def go() -> list[outbox.Ack]:
        try:
            return await poller.poll()
        finally:
            await poller.adapter.aclose()

    return asyncio.run(go())


def poller(desk: Desk, registry: CollectorRegistry) -> AckPoller:
    adapter = LocalAdapter(desk.conn, lock=desk.lock, clock=desk.clock)
    return AckPoller(
        desk.conn, desk.lock, adapter, clock=desk.clock, observers=[ack_histogram(registry)]
    )


def sample(registry: CollectorRegistry, suffix: str, priority: str, **labels: str) -> float:
    value = registry.get_sample_value(f"{HIST}_{suffix}", {"priority": priority, **labels})
    return -1.0 if value is None else value


def opened(tmp_path: Path, priority: int = 3) -> tuple[Desk, str]:
    desk = open_desk(tmp_path)
    desk.event(server_room(priority=priority, policy=NO_RAISE))
    drain(desk.worker(LocalAdapter(desk.conn, lock=desk.lock, clock=desk.clock)))
    ticket = desk.ticket("server-room-hot/srv-room-a")
    assert ticket is not None
    return desk, ticket


def test_taken_ticket_is_recorded_once_with_its_time_to_acknowledge(tmp_path: Path) -> None:
    desk, ticket = opened(tmp_path, priority=3)
    registry = CollectorRegistry()
    acks = poller(desk, registry)
    assert asyncio.run(acks.poll()) == []  # nobody took it yet
    assert sample(registry, "count", "P3") == 0
    with desk.lock, outbox.transaction(desk.conn):
        take(desk.conn, int(ticket), "alice", T0 + 290)
    desk.clock.now = T0 + 300
    [ack] = asyncio.run(acks.poll())
    assert (ack.priority, ack.seconds) == (3, 300.0)
    assert asyncio.run(acks.poll()) == []  # once per ticket
    assert sample(registry, "count", "P3") == 1 and sample(registry, "sum", "P3") == 300.0
    assert sample(registry, "bucket", "P3", le="300.0") == 1
    assert sample(registry, "bucket", "P3", le="120.0") == 0
    assert sample(registry, "count", "P1") == 0  # every priority is exported from the start
    state = outbox.load_state(desk.conn, "server-room-hot/srv-room-a")
    assert state is not None and state.acknowledged and state.acknowledged_at == T0 + 300
    assert desk.tick(T0 + 3600) == []  # no SLA escalation for a taken ticket


def test_past_sla_gauge_drops_when_the_late_ticket_is_taken(tmp_path: Path) -> None:
    desk, ticket = opened(tmp_path, priority=2)
    assert len(desk.tick(T0 + 420)) == 1  # the 7-minute SLA passed
    assert read_figures(tmp_path / "state.db").past_sla_by_priority == {2: 1}
    with desk.lock, outbox.transaction(desk.conn):
        take(desk.conn, int(ticket), "bob", T0 + 500)
    desk.clock.now = T0 + 600
    registry = CollectorRegistry()
    [ack] = asyncio.run(poller(desk, registry).poll())
    assert ack.seconds == 600.0 and sample(registry, "count", "P2") == 1
    assert read_figures(tmp_path / "state.db").past_sla_by_priority == {}


def test_a_reopened_ticket_is_acknowledged_again(tmp_path: Path) -> None:
    desk, ticket = opened(tmp_path, priority=3)
    registry = CollectorRegistry()
    acks = poller(desk, registry)
    with desk.lock, outbox.transaction(desk.conn):
        take(desk.conn, int(ticket), "alice", T0 + 60)
    desk.clock.now = T0 + 60
    assert len(asyncio.run(acks.poll())) == 1
    desk.event(server_room(EventKind.RESOLVED, ts=T0 + 900, value=24.0, policy=NO_RAISE))
    desk.event(server_room(ts=T0 + 1200, priority=3, policy=NO_RAISE))  # back: reopened
    drain(desk.worker(LocalAdapter(desk.conn, lock=desk.lock, clock=desk.clock)))
    state = outbox.load_state(desk.conn, "server-room-hot/srv-room-a")
    assert state is not None and not state.acknowledged and state.acknowledged_at is None
    desk.clock.now = T0 + 1500  # the reopened ticket still has its owner: taken again
    [ack] = asyncio.run(acks.poll())
    assert ack.seconds == 300.0  # from the reopening, the SLA clock's new start
    assert sample(registry, "count", "P3") == 2 and sample(registry, "sum", "P3") == 360.0


def test_a_failing_desk_is_counted_and_asked_again(tmp_path: Path) -> None:
    desk, ticket = opened(tmp_path)

    class Down(LocalAdapter):
        async def acknowledged(self, ticket_id: str) -> bool:
            raise RetryableError("cannot reach the desk")

    class Buggy(LocalAdapter):
        async def acknowledged(self, ticket_id: str) -> bool:
            raise KeyError("Owner")

    acks = AckPoller(desk.conn, desk.lock, Down(desk.conn, lock=desk.lock), clock=desk.clock)
    assert asyncio.run(acks.poll()) == [] and acks.failures == 1
    acks.adapter = Buggy(desk.conn, lock=desk.lock)
    assert asyncio.run(acks.poll()) == [] and acks.failures == 2
    assert outbox.unacknowledged(desk.conn) == [("server-room-hot/srv-room-a", ticket)]


def test_a_state_db_of_the_previous_release_gets_the_new_column(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.db")
    conn.execute(
        "CREATE TABLE ticket_incidents (incident_key TEXT PRIMARY KEY, status TEXT NOT NULL,"
        " priority INTEGER NOT NULL, opened_at REAL NOT NULL, policy TEXT NOT NULL,"
        " title TEXT NOT NULL DEFAULT '', resolved_at REAL,"
        " reopen_count INTEGER NOT NULL DEFAULT 0, escalation_level INTEGER NOT NULL DEFAULT 0,"
        " acknowledged INTEGER NOT NULL DEFAULT 0, last_update REAL NOT NULL DEFAULT 0)"
    )
    conn.execute(
        "INSERT INTO ticket_incidents VALUES ('k', 'firing', 1, 5, '{}', '', NULL, 0, 0, 0, 5)"
    )
    ensure_schema(conn)
    ensure_schema(conn)  # idempotent
    assert conn.execute("SELECT acknowledged_at FROM ticket_incidents").fetchall() == [(None,)]
