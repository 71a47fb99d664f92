"""The payload-shape table: every shape is reachable by its name and recognised from its
example; a shape added to the table is picked up by the decoder, in table order."""

from __future__ import annotations

from typing import Any

import pytest
from gatewatch.core.assets import parse_assets
from gatewatch.core.reading import Reading
from gatewatch.sensors.decode import Decoded, PayloadDecoder
from gatewatch.sensors.payloads import SHAPES
from gatewatch.sensors.payloads.base import Raw, RejectError, Shape, Topic, loads, number
from gatewatch.sensors.topics import TopicPattern

NOW = 1_732_400_000.0
TOPIC = b"building/hq/pump-1/vibration"
ASSETS = parse_assets("assets:\n  pump-1: {class: pump}\n", "assets.yaml")


def decoder(shapes: dict[str, Shape] | None = None) -> PayloadDecoder:
    patterns = [TopicPattern.parse("building/{site}/{asset}/{metric}")]
    return PayloadDecoder(patterns, ASSETS, default_site="hq", shapes=shapes or dict(SHAPES))


def by_hand(d: PayloadDecoder, shape: Shape, payload: bytes) -> list[Reading]:
    """What ``shape`` alone makes of the payload, checked like decode() checks it."""
    d.decode(TOPIC, b"0", NOW)  # fills the topic cache
    entry = d._topics[TOPIC]
    assert isinstance(entry, Topic)
    data = payload if shape.takes is bytes else loads(payload)
    out = Decoded([], [])
    for raw in shape.parse(data, entry, NOW):
        d._check(entry, raw, NOW, out)
    return out.readings


@pytest.mark.parametrize("name", list(SHAPES))
def test_each_shape_is_reachable_by_its_name_and_recognised_from_its_example(name: str) -> None:
    shape = SHAPES[name]
    assert shape.name == name
    d = decoder()
    got = d.decode(TOPIC, shape.example, NOW)
    assert got.rejections == [] and got.readings, got
    assert got.readings == by_hand(d, shape, shape.example)


def test_the_examples_are_told_apart() -> None:
    """Each example gives what its own shape gives and what no other shape gives."""
    d = decoder()
    for name, shape in SHAPES.items():
        mine = d.decode(TOPIC, shape.example, NOW).readings
        for other in SHAPES.values():
            if other is shape or other.takes is not shape.takes:
                continue
            data = shape.example if shape.takes is bytes else loads(shape.example)
            if other.accepts is not None and not other.accepts(data):
                continue
            try:
                theirs = by_hand(d, other, shape.example)
            except RejectError:
                continue
            assert theirs != mine, (name, other.name)


def _envelope(doc: dict[str, Any], topic: Topic, now: float) -> list[Raw]:
    data = doc["data"]
    if not isinstance(data, dict):
        raise RejectError("bad_json", "data must be an object")
    return [(f"{topic.fields.metric}.{k}", now, number(v), None) for k, v in data.items()]


def _pairs(payload: bytes, topic: Topic, now: float) -> list[Raw]:
    items = [p.split(b"=", 1) for p in payload.split()]
    return [(f"{topic.fields.metric}.{k.decode()}", now, number(v), None) for k, v in items]


ENVELOPE = Shape("envelope", b'{"data": {"rms": 2.5}}', dict, _envelope, lambda doc: "data" in doc)
PAIRS = Shape("pairs", b"rms=2.5 peak=7", bytes, _pairs, lambda payload: b"=" in payload)


def test_a_registered_shape_is_picked_up_before_the_general_ones() -> None:
    plain = decoder()
    assert [r.reason for r in plain.decode(TOPIC, ENVELOPE.example, NOW).rejections] == [
        "not_a_number"  # the metrics shape read "data" as a metric
    ]
    assert [r.reason for r in plain.decode(TOPIC, PAIRS.example, NOW).rejections] == [
        "not_a_number"
    ]
    d = decoder({"envelope": ENVELOPE, "pairs": PAIRS, **SHAPES})
    assert [(r.metric, r.value) for r in d.decode(TOPIC, ENVELOPE.example, NOW).readings] == [
        ("vibration.rms", 2.5)
    ]
    assert [(r.metric, r.value) for r in d.decode(TOPIC, PAIRS.example, NOW).readings] == [
        ("vibration.rms", 2.5),
        ("vibration.peak", 7.0),
    ]
    # the rest still goes to the shipped shapes
    assert d.decode(TOPIC, b'{"rms": 1.5}', NOW).readings[0].metric == "vibration.rms"
    assert d.decode(TOPIC, b"4.5", NOW).readings[0].value == 4.5


def test_a_payload_no_shape_takes_is_undecodable_and_says_which_shapes_were_asked() -> None:
    d = decoder({"envelope": ENVELOPE, "number": SHAPES["number"]})
    [rejection] = d.decode(TOPIC, b'{"rms": 1.5}', NOW).rejections
    assert rejection.reason == "undecodable"
    assert rejection.detail == "none of the payload shapes (envelope, number) takes a JSON object"
    [rejection] = d.decode(TOPIC, b"[1, 2]", NOW).rejections
    assert rejection.detail.endswith("takes a JSON array")
    assert d.decode(TOPIC, b"2.5", NOW).readings[0].value == 2.5
