"""The adapter contract for what cannot succeed: name the desk, the setting and the desk's words.

Wrong credentials, a missing project/queue, a missing incident-key field: the
action is parked after one attempt (never retried), counted by the worker, and
its reason says which desk, which setting to fix and what the desk answered.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from gatewatch.ticketing_client import outbox
from harness import drain, open_desk
from probe import MISCONFIGURATIONS, Probe
from ticket_events import server_room

# desks known not to meet this part of the contract yet (owner: the ticketing client)
KNOWN_GAPS: dict[str, str] = {}


@pytest.mark.parametrize("kind", MISCONFIGURATIONS)
def test_misconfiguration_is_parked_once_with_desk_setting_and_message(
    tmp_path: Path, probe: Probe, kind: str, request: pytest.FixtureRequest
) -> None:
    if probe.name in KNOWN_GAPS:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_GAPS[probe.name], strict=True))
    wrong = probe.misconfigured(kind)
    if wrong is None:
        pytest.skip(f"{probe.name} has no {kind} setting")
    desk, k = open_desk(tmp_path), f"misconfigured/{uuid.uuid4().hex[:8]}"
    desk.event(server_room(key=k))
    worker = desk.worker(wrong.adapter)
    drain(worker)
    [row] = outbox.list_rows(desk.conn)
    assert row.state == "parked" and row.attempts == 1, row
    assert worker.stats.parked == 1 and worker.stats.retried == 0
    reason = row.last_error
    assert reason.startswith(f"{probe.name}:"), reason
    assert f"`{wrong.setting}`" in reason, reason
    assert wrong.desk_says in reason, reason
    assert probe.tickets_for(k) == []
