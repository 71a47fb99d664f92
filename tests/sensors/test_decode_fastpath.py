"""The single-value fast path gives exactly what the general path gives."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
from gatewatch.core.assets import parse_assets
from gatewatch.core.reading import Reading
from gatewatch.sensors.decode import Decoded, PayloadDecoder
from gatewatch.sensors.payloads.base import RejectError, Topic
from gatewatch.sensors.topics import TopicPattern
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = 1_732_400_000.0
ASSETS = parse_assets(
    """
assets:
  srv-1:
    class: server_room
    metrics:
      temperature: {unit: C, min: -20, max: 80}
      humidity: {min: 0, max: 100}
""",
    "assets.yaml",
)
TOPICS = [
    b"building/hq/srv-1/temperature",
    b"building/hq/srv-1/humidity",
    b"building/hq/srv-1/pressure",
    b"building/hq/ghost/temperature",
]


def _decoder(strict: bool) -> PayloadDecoder:
    patterns = [TopicPattern.parse("building/{site}/{asset}/{metric}")]
    return PayloadDecoder(patterns, ASSETS, default_site="hq", strict_assets=strict)


def _general(d: PayloadDecoder, topic: bytes, payload: bytes) -> tuple[list[Reading], list[str]]:
    """What decode() gave before the fast path: the object shapes, then _check per item."""
    d.decode(topic, b"0", NOW)  # fills the topic cache
    entry = d._topics[topic]
    if not isinstance(entry, Topic):
        return [], [entry.reason]
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:  # NaN, Infinity
        return [], ["bad_json"]
    try:
        raw = d._object(doc, entry, NOW)
    except RejectError as rej:
        return [], [rej.reason]
    out = Decoded([], [])
    for item in raw:
        d._check(entry, item, NOW, out)
    return out.readings, [r.reason for r in out.rejections]


in_range = st.floats(min_value=-30, max_value=120)  # around the -20..80 of temperature
numbers = st.one_of(
    in_range, in_range, st.floats(), st.integers(min_value=-50, max_value=200)
)  # fmt: skip
valid_ts = st.floats(min_value=NOW - 1e6, max_value=NOW + 1e5)
timestamps = st.one_of(
    valid_ts,
    valid_ts,
    st.floats(min_value=1e11, max_value=2e12),
    st.sampled_from([NOW, NOW + 86_400.0, NOW + 86_400.5, 946_684_800.0, 946_684_799.9, 1e11]),
    numbers,
    st.none(),
    st.just("2024-11-23T22:13:19Z"),
)
units = st.one_of(st.none(), st.sampled_from(["C", "F", "", "%"]), st.integers(0, 3))


@settings(max_examples=1500, deadline=None)
@given(
    value=numbers | st.none() | st.text(max_size=3),
    ts=timestamps,
    unit=units,
    extra=st.dictionaries(st.sampled_from(["seq", "time", "rms"]), numbers, max_size=2),
    topic=st.sampled_from(TOPICS),
    strict=st.booleans(),
    omit=st.sampled_from(["", "ts", "unit", "value"]),
)
def test_fast_path_matches_general_path(
    *, value: Any, ts: Any, unit: Any, extra: dict[str, Any], topic: bytes, strict: bool, omit: str
) -> None:
    doc = {"value": value, "ts": ts, "unit": unit, **extra}
    doc.pop(omit, None)
    payload = json.dumps(doc).encode()
    got = _decoder(strict).decode(topic, payload, NOW)
    readings, reasons = _general(_decoder(strict), topic, payload)
    assert got.readings == readings
    assert [r.reason for r in got.rejections] == reasons
    assert all(math.isfinite(r.value) for r in got.readings)


def test_fast_path_reading_is_the_documented_one() -> None:
    d = _decoder(strict=False)
    got = d.decode(b"building/hq/srv-1/temperature", b'{"value":21.5,"ts":1732399999.5}', NOW)
    assert got.rejections == []
    assert got.readings == [Reading("hq", "srv-1", "temperature", 1732399999.5, 21.5, "C")]


@pytest.mark.parametrize(
    ("topic", "payload", "strict", "reason"),
    [
        (TOPICS[0], b'{"value":21.5,"ts":1732399999.5,"unit":"F"}', False, "unit_mismatch"),
        (TOPICS[0], b'{"value":99.5,"ts":1732399999.5}', False, "out_of_range"),
        (TOPICS[0], b'{"value":21.5,"ts":1832399999.5}', False, "bad_timestamp"),
        (TOPICS[2], b'{"value":21.5,"ts":1732399999.5}', True, "unknown_metric"),
    ],
)
def test_fast_path_shape_still_refuses(
    topic: bytes, payload: bytes, strict: bool, reason: str
) -> None:
    got = _decoder(strict).decode(topic, payload, NOW)
    assert got.readings == []
    assert [r.reason for r in got.rejections] == [reason]
