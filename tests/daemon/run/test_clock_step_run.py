"""`gatewatch run`: a device clock stepping back an hour does not blind its rule, and the
step and a straggler are each counted on /metrics and logged once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from gateway_process import Gateway, wait_for
from servers import Mosquitto, publish_many

pytestmark = pytest.mark.slow
RULES = """rules:
  - id: hot
    select: {asset: server-room-1, metric: temperature}
    when: {above: 27, clear: 25}
    priority: P3
"""
TOPIC = "building/hq/server-room-1/temperature"


def reading(ts: float, value: float) -> tuple[str, bytes]:
    return TOPIC, json.dumps({"value": value, "ts": ts, "unit": "C"}).encode()


def fired(gw: Gateway) -> list[dict[str, object]]:
    return [e for e in gw.events() if e.get("event") == "alert_event" and e["kind"] == "fired"]


def test_a_device_clock_step_back_still_fires_and_is_counted(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "hot.yaml").write_text(RULES)
    gw = Gateway(tmp_path, mosquitto.port)
    gw.write_config(f"rules: {{paths: [{tmp_path / 'rules'}], tick_every_s: 0.2}}\n")
    gw.start().wait_http()
    try:
        now = time.time()
        publish_many(mosquitto.port, [reading(now, 20.0)])
        wait_for(lambda: gw.metrics()["gatewatch_readings_stored_total"] >= 1, 20, "stored")
        publish_many(mosquitto.port, [reading(now - 3600, 30.0)])  # the device clock: -1 h
        wait_for(lambda: fired(gw), 20, "the alert on the stepped-back reading")
        publish_many(mosquitto.port, [reading(now - 3660, 31.0), reading(now - 3670, 32.0)])
        wait_for(lambda: gw.metrics()["gatewatch_out_of_order_total"] == 2, 20, "two dropped")
        m = gw.metrics()
        assert m["gatewatch_clock_steps_total"] == 1
        events = [e["event"] for e in gw.events()]
        assert events.count("clock_step") == 1
        assert events.count("readings_out_of_order") == 1  # the second: once an hour at most
        step = next(e for e in gw.events() if e["event"] == "clock_step")
        assert step["series"] == "hq/server-room-1/temperature"
        assert -3601 < float(step["step_s"]) < -3599  # type: ignore[arg-type]
    finally:
        assert gw.stop() == 0
    assert len(fired(gw)) == 1
