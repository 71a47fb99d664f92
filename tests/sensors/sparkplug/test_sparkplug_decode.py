"""sensors/sparkplug: Tahu payloads -> readings; aliases from BIRTH; DEATH -> online 0."""

from __future__ import annotations

import struct
from typing import Any

from gatewatch.sensors.sparkplug.decode import SparkplugDecoder, SparkplugTopic
from gatewatch.sensors.sparkplug.schema import Payload
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = 1_765_000_000.0
TS_MS = 1_764_999_990_000


def topic(text: str) -> SparkplugTopic:
    parsed = SparkplugTopic.parse(text)
    assert isinstance(parsed, SparkplugTopic), parsed
    return parsed


def payload(*metrics: dict[str, Any], ts: int | None = TS_MS, seq: int = 0) -> bytes:
    p = Payload()
    if ts is not None:
        p.timestamp = ts
    p.seq = seq
    for spec in metrics:
        m = p.metrics.add()
        for key, value in spec.items():
            setattr(m, key, value)
    return bytes(p.SerializeToString())


def varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def test_the_field_numbers_are_tahus() -> None:
    """A payload encoded by hand from sparkplug_b.proto's field numbers."""
    metric = b"\x0a\x04temp\x10\x01\x20\x0a\x69" + struct.pack("<d", 21.5)  # 13: double
    raw = b"\x08" + varint(TS_MS) + b"\x12" + bytes([len(metric)]) + metric + b"\x18\x00"
    out = SparkplugDecoder().decode(topic("spBv1.0/hq/DBIRTH/gw1/ahu-1"), raw, NOW)
    assert out.rejections == []
    assert out.readings == [
        ("ahu-1", ("online", 1_764_999_990.0, 1.0, None)),
        ("ahu-1", ("temp", 1_764_999_990.0, 21.5, None)),
    ]


def test_data_by_alias_after_a_birth_and_an_unknown_alias_is_refused() -> None:
    d = SparkplugDecoder()
    birth = payload(
        {"name": "Inputs/Supply temp", "alias": 1, "datatype": 10, "double_value": 18.0},
        {"name": "Fan on", "alias": 2, "datatype": 11, "boolean_value": True},
    )
    d.decode(topic("spBv1.0/hq/DBIRTH/gw1/ahu-1"), birth, NOW)
    data = payload(
        {"alias": 1, "double_value": 18.5, "timestamp": TS_MS + 500},
        {"alias": 2, "boolean_value": False},
        {"alias": 9, "double_value": 1.0},
    )
    out = d.decode(topic("spBv1.0/hq/DDATA/gw1/ahu-1"), data, NOW)
    assert out.readings == [
        ("ahu-1", ("Inputs.Supply temp", 1_764_999_990.5, 18.5, None)),
        ("ahu-1", ("Fan on", 1_764_999_990.0, 0.0, None)),
    ]
    ((reason, detail, _),) = out.rejections
    assert reason == "unknown_alias" and "alias 9 of ahu-1" in detail and "rebirth" in detail


def test_signed_integers_and_what_is_not_a_number() -> None:
    d = SparkplugDecoder()
    data = payload(
        {"name": "delta", "datatype": 3, "int_value": 2**32 - 5},  # Int32 -5
        {"name": "big", "datatype": 4, "long_value": 2**64 - 1},  # Int64 -1
        {"name": "count", "datatype": 7, "int_value": 4_000_000_000},  # UInt32
        {"name": "label", "datatype": 12, "string_value": "AHU"},
        {"name": "gone", "datatype": 10, "is_null": True},
    )
    out = d.decode(topic("spBv1.0/hq/NDATA/gw1"), data, NOW)
    assert [(a, r[0], r[2]) for a, r in out.readings] == [
        ("gw1", "delta", -5.0),
        ("gw1", "big", -1.0),
        ("gw1", "count", 4e9),
    ]
    assert [(r[0], r[2]) for r in out.rejections] == [
        ("not_a_number", "label"),
        ("not_a_number", "gone"),
    ]
    assert "String metric is not a number" in out.rejections[0][1]


def test_a_node_death_takes_its_devices_offline_at_once() -> None:
    d = SparkplugDecoder()
    d.decode(
        topic("spBv1.0/hq/NBIRTH/gw1"),
        payload({"name": "bdSeq", "datatype": 8, "long_value": 0}),
        NOW,
    )
    for dev in ("ahu-1", "ahu-2"):
        d.decode(
            topic(f"spBv1.0/hq/DBIRTH/gw1/{dev}"),
            payload({"name": "t", "alias": 1, "datatype": 10, "double_value": 1.0}),
            NOW,
        )
    death = payload({"name": "bdSeq", "datatype": 8, "long_value": 0}, ts=None)
    out = d.decode(topic("spBv1.0/hq/NDEATH/gw1"), death, NOW)
    assert sorted((a, r[0], r[2]) for a, r in out.readings) == [
        ("ahu-1", "online", 0.0),
        ("ahu-2", "online", 0.0),
        ("gw1", "online", 0.0),
    ]
    assert {r[1] for _, r in out.readings} == {NOW}  # no timestamp: receive time
    out = d.decode(
        topic("spBv1.0/hq/DDATA/gw1/ahu-1"), payload({"alias": 1, "double_value": 2.0}), NOW
    )
    assert [r[0] for r in out.rejections] == ["unknown_alias"]  # its aliases died with it
    out = d.decode(topic("spBv1.0/hq/DDEATH/gw1/ahu-2"), payload(), NOW)
    assert [(a, r[0], r[2]) for a, r in out.readings] == [("ahu-2", "online", 0.0)]


def test_garbage_is_bad_sparkplug_never_bad_utf8_and_topics_are_checked() -> None:
    out = SparkplugDecoder().decode(topic("spBv1.0/hq/NDATA/gw1"), b"\xff\xfe\x00garbage", NOW)
    assert [r[0] for r in out.rejections] == ["bad_sparkplug"] and out.readings == []
    assert isinstance(SparkplugTopic.parse("spBv1.0/hq/DDATA/gw1"), str)  # a device type, no device
    assert isinstance(SparkplugTopic.parse("spBv1.0/hq/NCMD/gw1"), str)
    assert isinstance(SparkplugTopic.parse("spAv1.0/hq/NDATA/gw1"), str)
    assert topic("spBv1.0/hq/NDATA/gw1").asset == "gw1"


KINDS = [
    "spBv1.0/hq/NBIRTH/gw1",
    "spBv1.0/hq/NDATA/gw1",
    "spBv1.0/hq/NDEATH/gw1",
    "spBv1.0/hq/DBIRTH/gw1/d1",
    "spBv1.0/hq/DDATA/gw1/d1",
    "spBv1.0/hq/DDEATH/gw1/d1",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KINDS), st.binary(max_size=48)), max_size=6))
def test_any_bytes_in_any_order_leave_a_reading_or_a_refusal(
    messages: list[tuple[str, bytes]],
) -> None:
    d = SparkplugDecoder()
    for text, raw in messages:
        out = d.decode(topic(text), raw, NOW)
        assert out.readings or out.rejections
        assert all(reason != "bad_utf8" for reason, _, _ in out.rejections)


def test_data_without_metrics_is_refused_not_dropped() -> None:
    out = SparkplugDecoder().decode(topic("spBv1.0/hq/NDATA/gw1"), b"", NOW)
    assert out.readings == [] and [r[0] for r in out.rejections] == ["no_metric"]
