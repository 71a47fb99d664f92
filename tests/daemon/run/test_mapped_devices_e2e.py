"""Real devices' payloads through a real mosquitto and the real daemon: the shipped
presets map a zigbee2mqtt door sensor's `contact: false` and a Tasmota plug's
`POWER: "OFF"` to readings, a rule written with the state names fires on each
(`value == "open"`), and each ticket names the state; and a Sparkplug B edge node's
DDATA metric (sent by alias after its DBIRTH) and its NDEATH each fire a rule
(issue 15)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gateway_process import Gateway, wait_for
from servers import Mosquitto, publish_many

pytestmark = pytest.mark.slow
MAPPINGS = Path(__file__).parents[3] / "config" / "mappings"
ASSETS = """\
assets:
  fire_door_2:
    class: door
    name: Fire door, stair 2
    location: {building: HQ, floor: "2", room: Stair 2}
    metrics:
      contact: {min: 0, max: 1}
  plug-1:
    class: meter
    name: Server rack plug
    location: {building: HQ, floor: "-1", room: B-104}
    metrics:
      power: {min: 0, max: 1}
"""
RULES = """\
rules:
  - id: fire-door-open
    description: A fire door stands open
    select: {asset: fire_door_2, metric: contact}
    when: {expr: 'value == "open"'}     # the preset names contact false "open"
    priority: P2
    ticket: {title: "Fire door {state}: {asset.name}"}
  - id: rack-power-off
    description: The rack plug switched off
    select: {asset: plug-1, metric: power}
    when: {expr: 'value == "OFF"'}
    priority: P2
    ticket: {title: "Rack power {state}: {asset.name}"}
"""


def ticket_titles(state_db: Path) -> list[str]:
    command = ["tickets", "list", "--state-db", str(state_db), "--json"]
    res = subprocess.run(
        [sys.executable, "-m", "gatewatch.daemon.commands.main", *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [str(t["subject"]) for t in json.loads(res.stdout)["local_tickets"]]


def test_rules_fire_on_a_zigbee2mqtt_contact_and_a_tasmota_power_state(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    (tmp_path / "assets.yaml").write_text(ASSETS)
    (tmp_path / "rules.yaml").write_text(RULES)
    gw = Gateway(tmp_path, mosquitto.port)
    gw.config.write_text(
        f"site: hq\nstate_dir: {tmp_path / 'state'}\nassets: assets.yaml\n"
        f"mqtt: {{port: {mosquitto.port}, client_id: gw-{gw.http_port}, keepalive: 5}}\n"
        f"http: {{port: {gw.http_port}}}\nlog: {{format: json, level: info}}\n"
        f"mappings: {{paths: [{MAPPINGS}]}}\n"
        "rules: {paths: [rules.yaml], tick_every_s: 0.2}\n"
    )
    gw.start().wait_http()
    try:
        wait_for(lambda: gw.healthz()[0] == 200, 20, "/healthz 200")
        publish_many(
            mosquitto.port,
            [
                ("zigbee2mqtt/fire_door_2", b'{"contact": true, "battery": 91, "linkquality": 80}'),
                ("tele/plug-1/STATE", b'{"POWER": "ON", "UptimeSec": 100, "Heap": 25}'),
            ],
        )
        wait_for(lambda: gw.metrics()["gatewatch_readings_stored_total"] == 4, 20, "4 readings")
        assert gw.metrics().get('gatewatch_alert_events_total{kind="fired"}', 0) == 0
        publish_many(
            mosquitto.port,
            [
                ("zigbee2mqtt/fire_door_2", b'{"contact": false, "battery": 91, "action": "x"}'),
                ("tele/plug-1/STATE", b'{"POWER": "OFF", "UptimeSec": 160, "Heap": 25}'),
            ],
        )
        fired = 'gatewatch_alert_events_total{kind="fired"}'
        wait_for(lambda: gw.metrics().get(fired) == 2, 20, "both rules fired")
        created = 'gatewatch_ticket_actions_delivered_total{adapter="local",kind="create"}'
        wait_for(lambda: gw.metrics().get(created) == 2, 20, "two tickets")
        m = gw.metrics()
        assert m['gatewatch_mapped_fields_total{fate="mapped"}'] == 8
        assert m['gatewatch_mapped_fields_total{fate="ignored"}'] == 3
        assert m['gatewatch_mapped_fields_total{fate="unmapped"}'] == 1
        assert m['gatewatch_mapped_fields_total{fate="rejected"}'] == 0
        assert m["gatewatch_readings_stored_total"] == 8
        door, plug = sorted(ticket_titles(tmp_path / "state" / "state.db"))
        assert door.startswith("[P2] Fire door open: Fire door, stair 2")
        assert plug.startswith("[P2] Rack power OFF: Server rack plug")
    finally:
        assert gw.stop() == 0


SPARKPLUG_ASSETS = """\
assets:
  ahu-1:
    class: ahu
    name: Air handler 1
    location: {building: HQ, floor: "5", room: Roof}
    metrics:
      supply_temp: {unit: C, min: -40, max: 90}
      online: {min: 0, max: 1}
"""
SPARKPLUG_RULES = """\
rules:
  - id: supply-too-hot
    description: Supply air too hot
    select: {asset: ahu-1, metric: supply_temp}
    when: {above: 30}
    priority: P2
    ticket: {title: "Supply air {value} C on {asset.name}"}
  - id: ahu-offline
    description: The air handler's edge node went offline
    select: {asset: ahu-1, metric: online}
    when: {expr: value == 0}
    priority: P2
    ticket: {title: "Offline: {asset.name}"}
"""


def sparkplug(ts_ms: int, seq: int, *metrics: dict[str, object]) -> bytes:
    from gatewatch.sensors.sparkplug.schema import Payload

    p = Payload(timestamp=ts_ms, seq=seq)
    for spec in metrics:
        p.metrics.add(**spec)
    return bytes(p.SerializeToString())


def test_a_rule_fires_on_a_sparkplug_ddata_metric_and_on_the_node_death(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    (tmp_path / "assets.yaml").write_text(SPARKPLUG_ASSETS)
    (tmp_path / "rules.yaml").write_text(SPARKPLUG_RULES)
    gw = Gateway(tmp_path, mosquitto.port)
    gw.config.write_text(
        f"site: hq\nstate_dir: {tmp_path / 'state'}\nassets: assets.yaml\n"
        f"mqtt: {{port: {mosquitto.port}, client_id: gw-{gw.http_port}, keepalive: 5}}\n"
        f"http: {{port: {gw.http_port}}}\nlog: {{format: json, level: info}}\n"
        "sparkplug: {enabled: true}\nrules: {paths: [rules.yaml], tick_every_s: 0.2}\n"
    )
    gw.start().wait_http()
    try:
        wait_for(lambda: gw.healthz()[0] == 200, 20, "/healthz 200")
        now_ms = int(time.time() * 1000)
        bd_seq = {"name": "bdSeq", "datatype": 8, "long_value": 0}
        temp = {"name": "supply_temp", "alias": 7, "datatype": 10, "double_value": 18.0}
        publish_many(
            mosquitto.port,
            [
                ("spBv1.0/hq/NBIRTH/edge-1", sparkplug(now_ms, 0, bd_seq)),
                ("spBv1.0/hq/DBIRTH/edge-1/ahu-1", sparkplug(now_ms, 1, temp)),
                (
                    "spBv1.0/hq/DDATA/edge-1/ahu-1",
                    sparkplug(now_ms + 1000, 2, {"alias": 7, "double_value": 34.5}),
                ),
            ],
        )
        fired = 'gatewatch_alert_events_total{kind="fired"}'
        wait_for(lambda: gw.metrics().get(fired) == 1, 20, "the DDATA rule fired")
        publish_many(mosquitto.port, [("spBv1.0/hq/NDEATH/edge-1", sparkplug(now_ms + 2000, 0))])
        wait_for(lambda: gw.metrics().get(fired) == 2, 20, "the death rule fired")
        created = 'gatewatch_ticket_actions_delivered_total{adapter="local",kind="create"}'
        wait_for(lambda: gw.metrics().get(created) == 2, 20, "two tickets")
        titles = sorted(ticket_titles(tmp_path / "state" / "state.db"))
        assert titles[0].startswith("[P2] Offline: Air handler 1")
        assert titles[1].startswith("[P2] Supply air 34.5 C on Air handler 1")
        m = gw.metrics()
        # NBIRTH: edge-1 online 1, bdSeq; DBIRTH: ahu-1 online 1, supply_temp 18; DDATA: 34.5
        # by alias; NDEATH: online 0 for edge-1 and for ahu-1, born under it
        assert m["gatewatch_readings_stored_total"] == 7
        assert m.get('gatewatch_dead_letters_total{reason="unknown_alias"}', 0) == 0
    finally:
        assert gw.stop() == 0
