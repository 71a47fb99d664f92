"""`gatewatch run` with the shipped rules: telemetry -> rule engine -> alert events."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from servers import Mosquitto, publish_many
from test_run_durability import start_gatewatch

pytestmark = pytest.mark.slow
CONFIG = Path(__file__).parents[3] / "config"


def write_config(tmp: Path, port: int, rules: Path) -> Path:
    cfg = tmp / "gatewatch.yaml"
    cfg.write_text(
        f"site: hq\nstate_dir: {tmp / 'state'}\nassets: {CONFIG / 'assets.yaml'}\n"
        f"mqtt: {{port: {port}, client_id: gw-alerting}}\n"
        f"rules: {{paths: [{rules}], tick_every_s: 0.2}}\n"
        "http: {enabled: false}\nlog: {format: json}\n"
    )
    return cfg


def events(log: Path) -> list[dict[str, object]]:
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    return [e for e in lines if e.get("event") == "alert_event"]


def wait_event(log: Path, predicate: object, timeout: float = 15) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in events(log):
            if predicate(e):  # type: ignore[operator]
                return e
        time.sleep(0.05)
    raise AssertionError(f"no matching alert event; got {events(log)}")


def test_rope_break_fires_p1_within_seconds(mosquitto: Mosquitto, tmp_path: Path) -> None:
    log = tmp_path / "gw.log"
    gw = start_gatewatch(write_config(tmp_path, mosquitto.port, CONFIG / "rules"), log)
    t0 = time.monotonic()
    publish_many(mosquitto.port, [("building/hq/lift-a1/rope_break", b"1")])
    ev = wait_event(log, lambda e: e["incident"].startswith("lift-rope-break"))
    elapsed = time.monotonic() - t0
    ticket = wait_ticket(tmp_path, "lift-rope-break")
    gw.send_signal(signal.SIGTERM)
    assert gw.wait(30) == 0
    assert ev["kind"] == "fired" and ev["priority"] == "P1"
    assert "ROPE BREAK: Passenger lift A1" in str(ev["title"])
    assert elapsed < 5
    assert ticket["status"] == "new" and ticket["priority"] == 1
    shown = gatewatch("tickets", "show", str(ticket["id"]), "--state-db", str(state_db(tmp_path)))
    assert "Lift shaft A" in shown and "LiftCo Service" in shown  # the asset card


def state_db(tmp: Path) -> Path:
    return tmp / "state" / "state.db"


def gatewatch(*args: str) -> str:
    res = subprocess.run(
        [sys.executable, "-m", "gatewatch.daemon.commands.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


def wait_ticket(tmp: Path, key_prefix: str, timeout: float = 15) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = json.loads(gatewatch("tickets", "list", "--state-db", str(state_db(tmp)), "--json"))
        for t in doc["local_tickets"]:
            if str(t.get("incident_key", "")).startswith(key_prefix):
                return t  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"no ticket for {key_prefix}: {doc}")


def test_bad_rules_on_sighup_keep_the_last_good_rules(mosquitto: Mosquitto, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "lifts.yaml").write_text((CONFIG / "rules" / "lifts.yaml").read_text())
    log = tmp_path / "gw.log"
    gw = start_gatewatch(write_config(tmp_path, mosquitto.port, rules), log)
    (rules / "lifts.yaml").write_text("rules:\n  - id: broken\n    when: {above: }\n")
    gw.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while b"config_reload_failed" not in log.read_bytes():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    publish_many(mosquitto.port, [("building/hq/lift-a2/rope_break", b"1")])
    ev = wait_event(log, lambda e: e["incident"].startswith("lift-rope-break"))
    gw.send_signal(signal.SIGTERM)
    assert gw.wait(30) == 0
    assert ev["kind"] == "fired"
    failed = [json.loads(x) for x in log.read_text().splitlines() if "config_reload_failed" in x]
    assert "lifts.yaml:3:" in json.dumps(failed[0]["problems"])
