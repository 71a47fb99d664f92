"""Payload decoding: topic + payload bytes -> readings, or a reason it was refused.

The payload shapes (plain number, JSON object with ``value``, JSON object of
metrics, SenML) are the table gatewatch.sensors.payloads.SHAPES; each
message's shape is recognised per message. A shape gives raw readings; this
module checks them against the asset registry (valid range, unit, timestamp
bounds, and in strict mode known assets/metrics). Nothing here raises on bad
input: a refused reading becomes a Rejection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import isfinite
from typing import Any

from gatewatch.core.assets import AssetRegistry
from gatewatch.core.reading import Reading
from gatewatch.sensors.payloads import SHAPES
from gatewatch.sensors.payloads.base import (
    MAX_FUTURE_S,
    MIN_TS,
    Parse,
    Raw,
    RejectError,
    Shape,
    Topic,
    loads,
)
from gatewatch.sensors.payloads.objects import single_value
from gatewatch.sensors.topics import TopicPattern

REASONS = (
    "bad_topic",
    "bad_utf8",
    "oversized",
    "empty",
    "bad_json",
    "not_a_number",
    "non_finite",
    "out_of_range",
    "unit_mismatch",
    "bad_timestamp",
    "bad_senml",
    "no_metric",
    "unknown_asset",
    "unknown_metric",
    "undecodable",
    "conflict",  # from the store: that series and time already hold another value
)


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    detail: str
    metric: str | None = None


@dataclass(slots=True)
class Decoded:
    readings: list[Reading]
    rejections: list[Rejection]


class PayloadDecoder:
    """Decode messages of the configured topic patterns. Caches topic parses."""

    def __init__(
        self,
        patterns: list[TopicPattern],
        assets: AssetRegistry,
        *,
        default_site: str = "default",
        max_payload_bytes: int = 65_536,
        strict_assets: bool = False,
        shapes: Mapping[str, Shape] = SHAPES,
    ) -> None:
        self.patterns = patterns
        self.assets = assets
        self.default_site = default_site
        self.max_payload_bytes = max_payload_bytes
        self.strict_assets = strict_assets
        self._topics: dict[bytes, Topic | Rejection] = {}
        self.shapes = shapes
        self._object = _dispatch(shapes, dict)  # a JSON object -> raw readings
        self._array = _dispatch(shapes, list)  # a JSON array
        self._plain = _dispatch(shapes, bytes)  # a payload that is not JSON

    def decode(self, topic: bytes, payload: bytes, received_at: float) -> Decoded:
        entry = self._topics.get(topic)
        if entry is None:
            entry = self._topic(topic)
        if type(entry) is Rejection:
            return Decoded([], [entry])
        assert type(entry) is Topic
        if len(payload) > self.max_payload_bytes:
            return _one(
                "oversized",
                f"payload is {len(payload)} bytes, limit is {self.max_payload_bytes} "
                "(ingest.max_payload_bytes)",
            )
        try:
            raw = self._parse(payload, entry, received_at)
        except RejectError as rej:
            return _one(rej.reason, rej.detail)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            return _one("undecodable", f"{type(exc).__name__}: {exc}"[:200])
        if type(raw) is Reading:
            return Decoded([raw], [])
        assert type(raw) is list
        out = Decoded([], [])
        for item in raw:
            self._check(entry, item, received_at, out)
        return out

    def _parse(self, payload: bytes, topic: Topic, now: float) -> Reading | list[Raw]:
        head = payload[:1]
        if head == b"{":  # the common case first
            doc = loads(payload)
            fast = single_value(topic, doc, now, self.strict_assets)
            if fast is not None:
                return fast
            return self._object(doc, topic, now)
        if not head or head.isspace():  # only then strip: lstrip copies the payload
            head = payload.lstrip()[:1]
        if head == b"{":
            return self._object(loads(payload), topic, now)
        if head == b"[":
            return self._array(loads(payload), topic, now)
        if not head:
            raise RejectError("empty", "payload is empty")
        return self._plain(payload, topic, now)

    def _topic(self, topic: bytes) -> Topic | Rejection:
        result = self._parse_topic(topic)
        if len(self._topics) >= 100_000:
            self._topics.clear()
        self._topics[topic] = result
        return result

    def _parse_topic(self, topic: bytes) -> Topic | Rejection:
        try:
            text = topic.decode("utf-8")
        except UnicodeDecodeError:
            return Rejection("bad_topic", "topic is not valid UTF-8")
        for pattern in self.patterns:
            tf = pattern.match(text, self.default_site)
            if tf is not None:
                if self.strict_assets and self.assets.get(tf.asset) is None:
                    return Rejection(
                        "unknown_asset",
                        f"asset {tf.asset!r} is not in {self.assets.source}; add it there "
                        "or set ingest.strict_assets: false",
                    )
                asset = self.assets.get(tf.asset)
                spec = asset.metric(tf.metric) if asset is not None and tf.metric else None
                return Topic(tf, pattern.has_metric, asset, spec)
        wanted = ", ".join(p.pattern for p in self.patterns)
        return Rejection("bad_topic", f"topic does not match the configured patterns ({wanted})")

    def _check(self, topic: Topic, raw: Raw, now: float, out: Decoded) -> None:
        metric, ts, value, unit = raw
        if not isfinite(value):
            out.rejections.append(Rejection("non_finite", f"value is {value}", metric))
            return
        if ts < MIN_TS or ts > now + MAX_FUTURE_S:
            detail = f"timestamp {ts} is out of bounds; check the device clock"
            out.rejections.append(Rejection("bad_timestamp", detail, metric))
            return
        tf, asset = topic.fields, topic.asset
        spec = topic.spec if metric == tf.metric else asset.metric(metric) if asset else None
        if spec is None:
            if self.strict_assets and asset is not None and asset.metrics:
                detail = f"metric {metric!r} of {tf.asset} is not in {self.assets.source}"
                out.rejections.append(Rejection("unknown_metric", detail, metric))
                return
        else:
            if unit is not None and spec.unit is not None and unit != spec.unit:
                detail = f"unit {unit!r}, but {self.assets.source} says {spec.unit!r}"
                out.rejections.append(Rejection("unit_mismatch", detail, metric))
                return
            if not spec.min <= value <= spec.max:
                detail = f"{value} outside valid range [{spec.min}, {spec.max}]"
                out.rejections.append(Rejection("out_of_range", detail, metric))
                return
            unit = unit if unit is not None else spec.unit
        # a shape gives ``now`` itself as the ts when the payload has none
        out.readings.append(Reading(tf.site, tf.asset, metric, ts, value, unit, ts == now))


def _one(reason: str, detail: str) -> Decoded:
    return Decoded([], [Rejection(reason, detail)])


KINDS: dict[type, str] = {
    dict: "a JSON object",
    list: "a JSON array",
    bytes: "a payload that is not JSON",
}


def _dispatch(shapes: Mapping[str, Shape], kind: type) -> Parse:
    """Data of ``kind`` -> the first of its shapes (in table order) that accepts it -> raw
    readings, as a chain built once: a shape without ``accepts`` ends the chain (it takes
    all), so when it comes first (the plain number, SenML) it is the parse itself. A chain
    of closures, not a loop: one call per shape asked, the cheapest dispatch measured."""
    what, known = KINDS[kind], ", ".join(shapes)

    def refuse(data: Any, topic: Topic, now: float) -> list[Raw]:
        raise RejectError("undecodable", f"none of the payload shapes ({known}) takes {what}")

    chain: Parse = refuse
    for shape in reversed([s for s in shapes.values() if s.takes is kind]):
        chain = shape.parse if shape.accepts is None else _either(shape, chain)
    return chain


def _either(shape: Shape, otherwise: Parse) -> Parse:
    accepts, parse = shape.accepts, shape.parse
    assert accepts is not None

    def either(data: Any, topic: Topic, now: float) -> list[Raw]:
        return parse(data, topic, now) if accepts(data) else otherwise(data, topic, now)

    return either
