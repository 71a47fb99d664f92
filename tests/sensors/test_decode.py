from __future__ import annotations

import math

import pytest
from gatewatch.core.assets import parse_assets
from gatewatch.sensors.decode import REASONS, PayloadDecoder
from gatewatch.sensors.topics import TopicPattern
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = 1_732_400_000.0
ASSETS = parse_assets(
    """
assets:
  srv-1:
    class: server_room
    location: {building: HQ, floor: "-1", room: B-104}
    metrics:
      temperature: {unit: C, min: -20, max: 80}
  pump-1:
    class: pump
    metrics:
      vibration.rms: {unit: mm/s, min: 0, max: 100}
""",
    "assets.yaml",
)


def decoder(strict: bool = False, max_payload: int = 1024) -> PayloadDecoder:
    return PayloadDecoder(
        [TopicPattern.parse("building/{site}/{asset}/{metric}"), TopicPattern.parse("dev/{asset}")],
        ASSETS,
        default_site="hq",
        max_payload_bytes=max_payload,
        strict_assets=strict,
    )


def one(topic: str, payload: bytes, **kw: bool) -> tuple[list, list]:  # type: ignore[type-arg]
    d = decoder(**kw).decode(topic.encode(), payload, NOW)
    return d.readings, d.rejections


def test_plain_number_uses_receive_time_and_registry_unit() -> None:
    readings, rejections = one("building/hq/srv-1/temperature", b" 23.5 ")
    assert rejections == []
    [r] = readings
    assert (r.site, r.asset, r.metric, r.ts, r.value, r.unit) == (
        "hq",
        "srv-1",
        "temperature",
        NOW,
        23.5,
        "C",
    )


def test_json_value_with_epoch_and_iso_and_millisecond_timestamps() -> None:
    a, _ = one("building/hq/srv-1/temperature", b'{"value": 21, "ts": 1732399999.5, "unit": "C"}')
    b, _ = one("building/hq/srv-1/temperature", b'{"value": 21, "ts": "2024-11-23T22:13:19.5Z"}')
    c, _ = one("building/hq/srv-1/temperature", b'{"value": 21, "ts": 1732399999500}')
    d, _ = one(
        "building/hq/srv-1/temperature", b'{"value": 21, "ts": "2024-11-23T23:13:19.5+01:00"}'
    )
    assert a[0].ts == b[0].ts == c[0].ts == d[0].ts == 1732399999.5


def test_multi_metric_json_prefixes_the_topic_metric() -> None:
    readings, rej = one(
        "building/hq/pump-1/vibration", b'{"ts": 1732399990, "rms": 2.1, "peak": 6.3}'
    )
    assert rej == []
    assert {(r.metric, r.value, r.ts) for r in readings} == {
        ("vibration.rms", 2.1, 1732399990.0),
        ("vibration.peak", 6.3, 1732399990.0),
    }


def test_multi_metric_without_metric_segment_uses_bare_names() -> None:
    readings, _ = one("dev/pump-9", b'{"rms": 2.0, "temp": 40}')
    assert sorted(r.metric for r in readings) == ["rms", "temp"]
    assert all(r.site == "hq" for r in readings)


def test_senml_pack_with_base_name_time_and_relative_time() -> None:
    pack = (
        b'[{"bn": "urn:dev:1:", "bt": 1732399000, "bu": "C", "n": "temp", "v": 20.5},'
        b' {"n": "temp", "t": 10, "v": 21.0}, {"n": "door", "vb": true, "u": ""}]'
    )
    readings, rej = one("dev/srv-9", pack)
    assert rej == []
    assert [(r.metric, r.ts, r.value, r.unit) for r in readings] == [
        ("urn:dev:1:temp", 1732399000.0, 20.5, "C"),
        ("urn:dev:1:temp", 1732399010.0, 21.0, "C"),
        ("urn:dev:1:door", 1732399000.0, 1.0, ""),
    ]


def test_senml_relative_time_counts_from_now() -> None:
    readings, _ = one("dev/srv-9", b'[{"n": "t", "v": 1, "t": -5}]')
    assert readings[0].ts == NOW - 5


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("building/hq/srv-1/temperature", b"warm", "not_a_number"),
        ("building/hq/srv-1/temperature", b"nan", "non_finite"),
        ("building/hq/srv-1/temperature", b"inf", "non_finite"),
        ("building/hq/srv-1/temperature", b"99", "out_of_range"),
        ("building/hq/srv-1/temperature", b'{"value": 20, "unit": "F"}', "unit_mismatch"),
        ("building/hq/srv-1/temperature", b"\xff\xfe", "bad_utf8"),
        ("building/hq/srv-1/temperature", b'{"value": 1, "ts": "yesterday"}', "bad_timestamp"),
        ("building/hq/srv-1/temperature", b'{"value": 1, "ts": 12}', "bad_timestamp"),
        ("building/hq/srv-1/temperature", b'{"value": 1', "bad_json"),
        ("building/hq/srv-1/temperature", b"", "empty"),
        ("building/hq/srv-1/temperature", b"1" * 2000, "oversized"),
        ("building/hq/srv-1", b"1", "bad_topic"),
        ("dev/x", b"1", "no_metric"),
        ("dev/x", b'[{"n": "a", "vs": "on"}]', "not_a_number"),
        ("dev/x", b'[{"n": "a"}]', "bad_senml"),
        ("dev/x", b"[]", "bad_senml"),
    ],
)
def test_bad_payloads_are_rejected_with_a_reason(topic: str, payload: bytes, reason: str) -> None:
    readings, rejections = one(topic, payload)
    assert readings == []
    assert [r.reason for r in rejections] == [reason]
    assert rejections[0].detail


def test_strict_mode_refuses_unknown_assets_and_metrics() -> None:
    _, rej = one("building/hq/ghost/temperature", b"1", strict=True)
    assert [r.reason for r in rej] == ["unknown_asset"]
    _, rej = one("building/hq/srv-1/pressure", b"1", strict=True)
    assert [r.reason for r in rej] == ["unknown_metric"]
    readings, rej = one("building/hq/ghost/temperature", b"1", strict=False)
    assert rej == [] and len(readings) == 1


def test_one_bad_metric_does_not_lose_the_good_ones() -> None:
    readings, rej = one("building/hq/pump-1/vibration", b'{"rms": 500, "peak": 6.3}')
    assert [r.metric for r in readings] == ["vibration.peak"]
    assert [(r.reason, r.metric) for r in rej] == [("out_of_range", "vibration.rms")]


@settings(max_examples=400, deadline=None)
@given(topic=st.binary(max_size=60), payload=st.binary(max_size=300))
def test_garbage_never_raises_and_every_refusal_has_a_known_reason(
    topic: bytes, payload: bytes
) -> None:
    d = decoder().decode(topic, payload, NOW)
    assert d.readings or d.rejections
    for rej in d.rejections:
        assert rej.reason in REASONS and rej.detail
    for r in d.readings:
        assert math.isfinite(r.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(doc=json_values)
def test_garbage_json_never_raises(doc: object) -> None:
    import json

    payload = json.dumps(doc).encode()
    d = decoder().decode(b"building/hq/pump-1/vibration", payload, NOW)
    assert d.readings or d.rejections
    assert all(rej.reason in REASONS for rej in d.rejections)
