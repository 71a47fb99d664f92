"""A simulated building publishing realistic telemetry over MQTT (for the demo).

Pure generation (``frames``) is apart from publishing (``Publisher``), so the
values are testable without a broker. Formats are mixed on purpose: plain
numbers, ``{value, ts}`` objects, multi-metric JSON and SenML, plus the odd
garbage payload a real site sends, which ingest must dead-letter.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes


# The incidents of DESIGN.md, in simulated minutes since the start.
ROPE_BREAK_AT = 3.0  # lift-2's rope-break contact trips and stays tripped (incident 1)
COOLING_STOPS_AT, COOLING_BACK_AT = 8.0, 30.0  # server room warms 0.6 C/min (incident 2)
DOOR_FAULTS_AT = (12.0, 20.0, 28.0)  # lift-1 door fault, one minute each (incident 3)
PUMP_RMS = (1.1, 1.4, 2.2)  # mm/s, pump-1..3 (the demo continues its seeded history instead)


def frames(
    site: str,
    t: float,
    rng: random.Random,
    minute: float = 0.0,
    pumps: Sequence[float] = PUMP_RMS,
) -> list[Message]:
    """One step of the building at time t (epoch seconds), ``minute`` into the scenario;
    ``pumps``: the vibration RMS level of each pump."""
    day = 2 * math.pi * (t % 86_400) / 86_400
    out = [_lift(site, "lift-1", t, rng), _lift(site, "lift-2", t, rng)]
    out.append(_json(f"building/{site}/lift-2/rope_break", t, float(minute >= ROPE_BREAK_AT)))
    fault = any(at <= minute < at + 1 for at in DOOR_FAULTS_AT)
    out.append(_json(f"building/{site}/lift-1/door_fault_code", t, 17.0 if fault else 0.0))
    temp = server_room_temperature(minute) + 0.8 * math.sin(day) + rng.gauss(0, 0.05)
    out.append(_json(f"building/{site}/server-room/temperature", t, round(temp, 2), "C"))
    cooling = not COOLING_STOPS_AT <= minute < COOLING_BACK_AT
    out.append(_json(f"building/{site}/server-room/crac_running", t, float(cooling)))
    rh = round(45 + rng.gauss(0, 0.5), 1)
    humidity = [{"bt": round(t, 3), "n": "humidity", "u": "%", "v": rh}]
    out.append(Message(f"devices/{site}/server-room", json.dumps(humidity).encode()))
    for i, base in enumerate(pumps, start=1):
        rms = base * (1 + 0.1 * math.sin(day * 24)) + abs(rng.gauss(0, 0.05))
        doc = {"ts": round(t, 3), "rms": round(rms, 3), "peak": round(rms * 2.9, 3)}
        out.append(Message(f"building/{site}/pump-{i}/vibration", json.dumps(doc).encode()))
    if rng.random() < 0.02:
        out.append(Message(f"building/{site}/door-f3/fault_code", b"E-17"))  # not a number
    if rng.random() < 0.01:
        out.append(Message(f"building/{site}/server-room/temperature", b"-999"))  # broken probe
    return out


def server_room_temperature(minute: float) -> float:
    """22 C, rising 0.6 C/min while the cooling is off, falling 1 C/min after."""
    if minute < COOLING_STOPS_AT:
        return 22.0
    peak = 22.0 + 0.6 * (min(minute, COOLING_BACK_AT) - COOLING_STOPS_AT)
    if minute < COOLING_BACK_AT:
        return peak
    return max(22.0, peak - 1.0 * (minute - COOLING_BACK_AT))


def _json(topic: str, t: float, value: float, unit: str | None = None) -> Message:
    doc: dict[str, object] = {"value": value, "ts": round(t, 3)}
    if unit is not None:
        doc["unit"] = unit
    return Message(topic, json.dumps(doc).encode())


def _lift(site: str, lift: str, t: float, rng: random.Random) -> Message:
    value = {"value": round(3.0 + abs(rng.gauss(0, 0.3)), 2), "ts": round(t, 3), "unit": "s"}
    return Message(f"building/{site}/{lift}/door_close_time", json.dumps(value).encode())


class Publisher:
    """Publishes simulator frames to a broker with paho-mqtt (QoS 1)."""

    def __init__(self, host: str, port: int, client_id: str = "demo-building") -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.max_queued_messages_set(0)
        self.client.connect(host, port)
        self.client.loop_start()
        self._infos: list[mqtt.MQTTMessageInfo] = []

    @property
    def sent(self) -> int:
        return len(self._infos)

    def publish(self, messages: Iterator[Message] | list[Message]) -> None:
        for m in messages:
            self._infos.append(self.client.publish(m.topic, m.payload, qos=1))

    def close(self, timeout: float = 10.0) -> int:
        """Wait for the broker's PUBACKs, disconnect; return how many it acknowledged."""
        for info in self._infos:
            if not info.is_published():
                info.wait_for_publish(timeout)
        acked = sum(1 for info in self._infos if info.is_published())
        self.client.loop_stop()
        self.client.disconnect()
        return acked
