"""The benchmark's message stream: which reading goes where, and its MQTT bytes.

Pure functions, shared by the publisher processes and the orchestrator.
Reading ``k`` (0 <= k < readings) belongs to series ``k % series``; series
``s`` is published by publisher ``s % publishers``, so every series has one
publisher and its timestamps increase in that process. Timestamps are whole
milliseconds and distinct per series, so nothing collapses as a duplicate on
(series, ts) and "stored == published" is the exact expectation.

Two shapes of the same stream: ``value`` (``{"value": v, "ts": t, "unit": "C"}``
on ``building/bench/<asset>/<metric>``, gatewatch's own payload) and ``mapped``
(``{"<metric>": v, "last_seen": <epoch ms>}`` on ``zigbee2mqtt/<asset>``,
decoded through MAPPED_YAML: the zigbee2mqtt preset's timestamp path and
``unmapped: numbers``) and ``sparkplug`` (a Sparkplug B DDATA on
``spBv1.0/bench/DDATA/edge/<asset>``, the metric by name, a Double), one
reading per message in each.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from types import MappingProxyType

from gatewatch.core.assets import Asset, AssetLocation, AssetRegistry, MetricSpec
from gatewatch.sensors.mqtt.codec import encode_varint

SITE = "bench"
METRICS_PER_ASSET = 8
TOPIC_FILTER = "building/+/+/+"
SHAPES = ("value", "mapped", "sparkplug")
MAPPED_YAML = """\
mappings:
  - name: bench-zigbee2mqtt
    topic: "zigbee2mqtt/{asset}"
    timestamp: {path: last_seen}
    unmapped: numbers
"""
UNIT = "C"
VALUE_MIN, VALUE_MAX = -1000.0, 1000.0


@dataclass(frozen=True, slots=True)
class StreamSpec:
    readings: int
    series: int
    publishers: int
    t0_ms: int  # timestamp of reading 0 in the flat-out stream
    shape: str = "value"  # one of SHAPES

    def __post_init__(self) -> None:
        if self.readings < 1 or self.series < 1 or self.publishers < 1:
            raise ValueError("readings, series and publishers must be >= 1")
        if self.shape not in SHAPES:
            raise ValueError(f"shape must be one of {', '.join(SHAPES)}")

    def share(self, publisher: int) -> Iterator[int]:
        """Indexes of the readings one publisher sends, in order."""
        for k in range(self.readings):
            if (k % self.series) % self.publishers == publisher:
                yield k

    def share_size(self, publisher: int) -> int:
        full, rest = divmod(self.readings, self.series)
        owned = range(publisher, self.series, self.publishers)
        return full * len(owned) + sum(1 for s in owned if s < rest)


def series_name(s: int) -> tuple[str, str]:
    """(asset, metric) of series ``s``."""
    return f"a{s // METRICS_PER_ASSET}", f"m{s % METRICS_PER_ASSET}"


def topic(s: int, shape: str = "value") -> bytes:
    asset, metric = series_name(s)
    if shape == "mapped":
        return f"zigbee2mqtt/{asset}".encode()
    if shape == "sparkplug":
        return f"spBv1.0/{SITE}/DDATA/edge/{asset}".encode()
    return f"building/{SITE}/{asset}/{metric}".encode()


def topic_filter(shape: str) -> str:
    return {"mapped": "zigbee2mqtt/+", "sparkplug": "spBv1.0/+/DDATA/+/+"}.get(shape, TOPIC_FILTER)


def payload(value: float, ts_ms: int) -> bytes:
    return b'{"value":%.2f,"ts":%d.%03d,"unit":"C"}' % (value, ts_ms // 1000, ts_ms % 1000)


def payload_of(shape: str, s: int, value: float, ts_ms: int) -> bytes:
    """Series ``s``'s reading in the stream's shape."""
    if shape == "mapped":
        return b'{"%s":%.2f,"last_seen":%d}' % (series_name(s)[1].encode(), value, ts_ms)
    if shape == "sparkplug":
        return sparkplug_data(series_name(s)[1], value, ts_ms)
    return payload(value, ts_ms)


def sparkplug_data(metric: str, value: float, ts_ms: int) -> bytes:
    from gatewatch.sensors.sparkplug.schema import Payload

    message = Payload(timestamp=ts_ms, seq=0)
    message.metrics.add(name=metric, datatype=10, double_value=value)  # 10: Double
    return bytes(message.SerializeToString())


def value_of(k: int) -> float:
    return (k % 2000) / 10.0 - 100.0


def registry(series: int) -> AssetRegistry:
    """An asset registry covering every bench series, with unit and valid range."""
    spec = MetricSpec(UNIT, VALUE_MIN, VALUE_MAX)
    assets: dict[str, Asset] = {}
    for a in range(math.ceil(series / METRICS_PER_ASSET)):
        metrics = {f"m{m}": spec for m in range(METRICS_PER_ASSET)}
        assets[f"a{a}"] = Asset(
            f"a{a}", "sensor", f"bench asset {a}", AssetLocation("bench"), None, "",
            MappingProxyType(metrics),
        )  # fmt: skip
    return AssetRegistry(MappingProxyType(assets), "<bench>")


# --- MQTT 3.1.1 publisher packets (the publisher side only; bench use) ---


_varint = encode_varint


def encode_connect(client_id: str, keepalive: int = 60) -> bytes:
    cid = client_id.encode()
    body = b"\x00\x04MQTT\x04\x02" + struct.pack("!HH", keepalive, len(cid)) + cid
    return b"\x10" + _varint(len(body)) + body


def encode_publish(topic_: bytes, payload_: bytes, qos: int, packet_id: int) -> bytes:
    head = struct.pack("!H", len(topic_)) + topic_
    if qos:
        head += struct.pack("!H", packet_id)
    return bytes([0x30 | (qos << 1)]) + _varint(len(head) + len(payload_)) + head + payload_


def packet_id(seq: int) -> int:
    """Packet ids 1..65535 by sequence number (0 is not a valid id)."""
    return seq % 65_535 + 1


DISCONNECT = b"\xe0\x00"
