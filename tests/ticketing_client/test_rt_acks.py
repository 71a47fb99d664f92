"""Acknowledgement read from a real Request Tracker: a dispatcher opens the ticket
through REST2, the next ack poll records it, /metrics has its time to acknowledge."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from gatewatch.daemon.run.stage_metrics import ack_histogram, read_figures
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.acks import AckPoller
from harness import drain, open_desk
from prometheus_client import CollectorRegistry, generate_latest
from rt_client import RTReader
from test_acks import HIST, NO_RAISE, poll_once
from ticket_events import T0, server_room

pytestmark = pytest.mark.slow


def test_dispatcher_opening_the_ticket_is_its_time_to_acknowledge(
    tmp_path: Path, rt: RTReader
) -> None:
    desk, k = open_desk(tmp_path), f"server-room-hot/{uuid.uuid4().hex[:8]}"
    desk.event(server_room(key=k, priority=3, policy=NO_RAISE))
    drain(desk.worker(rt.adapter()))
    ticket = desk.ticket(k) or ""
    assert len(desk.tick(T0 + 420)) == 1  # the 7-minute SLA passed: escalation level 1
    drain(desk.worker(rt.adapter()))
    assert read_figures(tmp_path / "state.db").past_sla_by_priority == {3: 1}
    registry = CollectorRegistry()
    observe = ack_histogram(registry)

    def poller() -> AckPoller:
        return AckPoller(desk.conn, desk.lock, rt.adapter(), clock=desk.clock, observers=[observe])

    desk.clock.now = T0 + 500
    assert poll_once(poller()) == []  # our own escalation comment is no acknowledgement
    rt.open_as_tech(ticket)  # the dispatcher moves it from new to open in RT
    desk.clock.now = T0 + 1000
    [ack] = poll_once(poller())
    assert (ack.incident_key, ack.priority, ack.seconds) == (k, 3, 1000.0)
    assert poll_once(poller()) == []  # recorded once
    text = generate_latest(registry).decode()
    assert f'{HIST}_count{{priority="P3"}} 1.0' in text
    assert f'{HIST}_sum{{priority="P3"}} 1000.0' in text
    assert f'{HIST}_bucket{{le="900.0",priority="P3"}} 0.0' in text
    assert f'{HIST}_bucket{{le="1800.0",priority="P3"}} 1.0' in text
    assert read_figures(tmp_path / "state.db").past_sla_by_priority == {}
    state = outbox.load_state(desk.conn, k)
    assert state is not None and state.acknowledged_at == T0 + 1000
