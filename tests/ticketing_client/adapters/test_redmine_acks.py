"""Acknowledgement read from a real Redmine: the technician takes the issue, the next
ack poll records it once and the time to acknowledge reaches the histogram."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from gatewatch.daemon.run.stage_metrics import ack_histogram, read_figures
from gatewatch.ticketing_client.acks import AckPoller
from harness import drain, open_desk
from prometheus_client import CollectorRegistry
from redmine_client import RedmineReader
from test_acks import HIST, NO_RAISE, poll_once
from ticket_events import T0, server_room

pytestmark = pytest.mark.slow


def test_technician_taking_the_issue_is_its_time_to_acknowledge(
    tmp_path: Path, redmine: RedmineReader
) -> None:
    desk, k = open_desk(tmp_path), f"server-room-hot/{uuid.uuid4().hex[:8]}"
    desk.event(server_room(key=k, priority=2, policy=NO_RAISE))
    drain(desk.worker(redmine.adapter()))
    ticket = desk.ticket(k) or ""
    assert len(desk.tick(T0 + 420)) == 1
    drain(desk.worker(redmine.adapter()))  # our own escalation note: no acknowledgement
    registry = CollectorRegistry()
    observers = [ack_histogram(registry)]

    def poller() -> AckPoller:
        adapter = redmine.adapter()
        return AckPoller(desk.conn, desk.lock, adapter, clock=desk.clock, observers=observers)

    assert poll_once(poller()) == []
    assert read_figures(tmp_path / "state.db").past_sla_by_priority == {2: 1}
    redmine.take_as_tech(ticket)  # assigned to the technician, status In Progress
    desk.clock.now = T0 + 2400
    [ack] = poll_once(poller())
    assert (ack.priority, ack.seconds) == (2, 2400.0)
    assert poll_once(poller()) == []
    count = registry.get_sample_value(f"{HIST}_count", {"priority": "P2"})
    bucket = registry.get_sample_value(f"{HIST}_bucket", {"priority": "P2", "le": "3600.0"})
    assert (count, bucket) == (1.0, 1.0)
    assert read_figures(tmp_path / "state.db").past_sla_by_priority == {}
