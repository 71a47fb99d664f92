"""DESIGN.md incidents end to end: telemetry published to a real mosquitto ->
`gatewatch run` -> tickets in a real Request Tracker, asserted by reading RT.

The rules here are the shipped ones with their timers shortened (seconds for
minutes) so the lifecycle plays out in a test; the minute-level timings
themselves are covered with an injected clock in test_rt_lifecycle.py and by
the rule tests of config/rules/tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rt_client import RTReader
from rt_server import RequestTracker
from servers import Mosquitto, publish_many

pytestmark = pytest.mark.slow
CONFIG = Path(__file__).parents[2] / "config"
RULES = """
rules:
  - id: lift-rope-break
    description: Lift rope-break contact tripped
    select: {class: lift, metric: rope_break}
    when: {expr: value == 1}
    priority: P1
    ticket:
      title: "ROPE BREAK: {asset.name} ({asset.location})"
      update_every: 2s
      resolve_on_clear: false
  - id: server-room-hot
    description: Server room above its limit
    select: {class: server_room, metric: temperature}
    when: {above: 27, clear: 25}
    priority: P1
    ticket:
      title: "Server room {asset.room} at {value} C"
      update_every: 1h
      escalate: [{after: 3s, queue: Supervisors, comment: not acknowledged in time}]
      resolve_on_clear: true
  - id: fire-panel-fault
    description: Fire panel reports a fault
    select: {class: fire_panel, metric: fault_word}
    when: {expr: value != 0}
    priority: P4
    ticket: {title: "Fire panel fault {value}"}
  - id: lift-door-fault
    description: Lift door fault code
    select: {class: lift, metric: door_fault_code}
    when: {expr: value != 0}
    priority: P3
    ticket:
      title: "Door fault {value} on {asset.name}"
      reopen_window: 1h
      escalate_after_reopens: 2
"""


@pytest.fixture
def daemon(
    mosquitto: Mosquitto, rt_server: RequestTracker, tmp_path: Path
) -> Iterator[Callable[[list[tuple[str, float]]], None]]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "incidents.yaml").write_text(RULES)
    cfg = tmp_path / "gatewatch.yaml"
    cfg.write_text(
        f"site: hq\nstate_dir: {tmp_path / 'state'}\nassets: {CONFIG / 'assets.yaml'}\n"
        f"mqtt: {{port: {mosquitto.port}, client_id: gw-e2e}}\n"
        "rules: {paths: [rules], tick_every_s: 0.2}\n"
        "tickets:\n  backend: rt\n  sla_check_interval: 0.3\n"
        f"  rt: {{url: '{rt_server.url}', token_env: GW_RT_TOKEN, queue: Building Services,"
        " key_field: IncidentKey}\n"
        "http: {enabled: false}\nlog: {format: json}\n"
    )
    log = tmp_path / "gw.log"
    env = {**os.environ, "GW_RT_TOKEN": rt_server.tokens["gatewatch"]}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gatewatch.daemon.commands.main", "run", "--config", str(cfg)],
            stdout=out,
            stderr=out,
            env=env,
        )
    until(lambda: b"mqtt_connected" in log.read_bytes(), 30, "gatewatch to connect")

    def publish(readings: list[tuple[str, float]]) -> None:
        now = time.time()
        msgs = [
            (f"building/hq/{t}", json.dumps({"value": v, "ts": now}).encode()) for t, v in readings
        ]
        publish_many(mosquitto.port, msgs, client_id="e2e-sensors")

    yield publish
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, log.read_text()[-3000:]
    assert rt_server.tokens["gatewatch"] not in log.read_text()


def until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def one_ticket(rt: RTReader, key: str, timeout: float = 30) -> str:
    until(lambda: rt.tickets_for(key), timeout, f"a ticket for {key}")
    [ticket] = rt.tickets_for(key)
    return ticket


def test_rope_break_is_a_p1_ticket_with_the_asset_card_and_updates(
    daemon: Callable[[list[tuple[str, float]]], None], rt: RTReader
) -> None:
    t0 = time.monotonic()
    daemon([("lift-a1/rope_break", 1)])
    ticket = one_ticket(rt, "lift-rope-break:hq/lift-a1/rope_break")
    created_after = time.monotonic() - t0
    data = rt.ticket(ticket)
    assert data["Subject"].startswith("[P1] ROPE BREAK: Passenger lift A1")
    assert data["Priority"] == "100"
    until(lambda: len(rt.comments(ticket)) >= 3, 20, "two periodic updates")
    body = rt.comments(ticket)[0]
    assert "LiftCo Service" in body and "+49 30 1234567" in body  # DESIGN.md incident 5
    assert "https://wiki.example.org/maintenance/lift-a1" in body
    assert "Lift shaft A" in body
    assert created_after < 10


def test_server_room_escalates_when_nobody_acknowledges_then_recovers(
    daemon: Callable[[list[tuple[str, float]]], None], rt: RTReader
) -> None:
    daemon([("server-room-1/temperature", 31.5)])
    key = "server-room-hot:hq/server-room-1/temperature"
    ticket = one_ticket(rt, key)
    until(lambda: rt.queue_name(ticket) == "Supervisors", 20, "the SLA escalation")
    daemon([("server-room-1/temperature", 22.0)])
    until(lambda: rt.ticket(ticket)["Status"] == "resolved", 20, "resolve on clear")
    texts = "\n".join(rt.comments(ticket))
    assert "not acknowledged in time" in texts
    assert rt.tickets_for(key) == [ticket]


def test_fire_panel_priority_floor(
    daemon: Callable[[list[tuple[str, float]]], None], rt: RTReader
) -> None:
    daemon([("fire-panel-1/fault_word", 4)])
    ticket = one_ticket(rt, "fire-panel-fault:hq/fire-panel-1/fault_word")
    assert rt.priority(ticket) == 75  # P4 in the rule, never below P2 for fire panels


def test_fault_back_twice_reopens_the_same_ticket_and_escalates(
    daemon: Callable[[list[tuple[str, float]]], None], rt: RTReader
) -> None:
    key = "lift-door-fault:hq/lift-a2/door_fault_code"
    tickets = set()
    for round_ in range(3):
        daemon([("lift-a2/door_fault_code", 17)])
        ticket = one_ticket(rt, key)
        tickets.add(ticket)
        wait_status(rt, ticket, ("new", "open"), f"open #{round_}")
        daemon([("lift-a2/door_fault_code", 0)])
        wait_status(rt, ticket, ("resolved",), f"resolved #{round_}")
    assert len(tickets) == 1
    assert rt.tickets_for(key) == [ticket]  # never a fresh ticket (DESIGN.md incident 6)
    assert rt.priority(ticket) == 100  # escalated at the second reopen


def wait_status(rt: RTReader, ticket: str, wanted: tuple[str, ...], what: str) -> None:
    until(lambda: rt.ticket(ticket)["Status"] in wanted, 20, what)
