from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser import chromium_dom
from servers import free_port

pytestmark = pytest.mark.slow


def page_with(url: str, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                html = resp.read().decode()
            if text in html:
                return str(html)
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{text!r} not on the status page"
        time.sleep(0.5)


def test_demo_plays_the_incidents_end_to_end_and_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    argv = ["demo", "--seconds", "31", "--json", "--http-port", str(port)]
    demo = subprocess.Popen(
        [sys.executable, "-m", "gatewatch.daemon.commands.main", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        page_with(url, "ROPE BREAK", 25)
        dom = chromium_dom(url, tmp_path / "chromium")
    finally:
        out, err = demo.communicate(timeout=150)
    assert demo.returncode == 0, err
    listed = dom.split('<section id="tickets">')[1].split("</section>")[0]
    assert "ROPE BREAK" in listed and "local #" in listed  # rendered by Chromium
    summary = json.loads(out)
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
    assert summary["alerts"]["fired"] >= 6
    # incident 7: weeks of seeded history, the live forecast is the third in a row
    pump = tickets["pump-zone-c-forecast"]
    assert pump["priority"] == 3 and pump["incident_key"].endswith("pump-3/days_to_zone_c")
    assert "%/day" in pump["body"] and "now in ISO 10816 zone B" in pump["body"]
    assert "Zone C forecast: 20" in pump["body"]  # a date
    predictive = [t for t in summary["tickets"] if t["incident_key"].startswith("pump-zone")]
    assert len(predictive) == 1, "the healthy pumps get no predictive ticket"
    assert summary["history"]["days"] >= 14 and summary["history"]["events"] == 0
