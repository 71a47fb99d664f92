from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_demo_plays_the_incidents_end_to_end_and_loses_nothing() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "gatewatch.daemon.cli", "demo", "--seconds", "31", "--json"],
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["messages_published"] > 1000
    assert summary["messages_lost"] == 0
    assert summary["messages_durable"] == summary["messages_published"]
    assert summary["dead_letters"].get("not_a_number", 0) >= 1  # the garbage payloads
    tickets = {t["incident_key"].split(":")[0]: t for t in summary["tickets"]}
    rope = tickets["lift-rope-break"]
    assert rope["priority"] == 1 and rope["notes"] >= 4  # created + an update every 5 min
    assert tickets["server-room-overheating"]["priority"] == 1
    repeated = tickets["lift-door-fault-repeated"]
    assert repeated["potentially_critical"] == 1 and repeated["priority"] == 1
    door = tickets["lift-door-fault"]
    assert door["reopen_count"] == 2, "a fault that comes back reopens the same ticket"
    assert summary["alerts"]["fired"] >= 5
