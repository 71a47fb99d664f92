"""Payload decoding: topic + payload bytes -> readings, or a reason it was refused.

The payload shapes (plain number, JSON object with ``value``, JSON object of
metrics, SenML) are the table gatewatch.sensors.payloads.SHAPES; each
message's shape is recognised per message. A shape gives raw readings; this
module checks them against the asset registry (valid range, unit, timestamp
bounds, and in strict mode known assets/metrics). Nothing here raises on bad
input: a refused reading becomes a Rejection.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import isfinite
from typing import Any

from gatewatch.core.assets import AssetRegistry
from gatewatch.core.reading import Reading
from gatewatch.sensors.cardinality import SeriesCap
from gatewatch.sensors.mapping.apply import FieldFate, apply_mapping
from gatewatch.sensors.mapping.model import Mapping as MappingModel
from gatewatch.sensors.mapping.model import MappingSet
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
from gatewatch.sensors.sparkplug.decode import NAMESPACE, SparkplugDecoder, SparkplugTopic
from gatewatch.sensors.topics import TopicFields, TopicPattern

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
    "bad_name",
    "too_many_series",
    "undecodable",
    "unknown_state",
    "bad_sparkplug",
    "unknown_alias",
    "conflict",  # from the store: that series and time already hold another value
)
NAME_SHOWN = 80  # characters of a refused name quoted in the dead letter


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    detail: str
    metric: str | None = None


@dataclass(frozen=True, slots=True)
class MappedTopic:
    """A topic that a mapping of ``mappings:`` takes, with its fields; cached per topic."""

    mapping: MappingModel
    fields: dict[str, str]
    topic: Topic


Entry = Topic | Rejection | MappedTopic | SparkplugTopic  # what a topic is, cached per topic


@dataclass(slots=True)
class Decoded:
    readings: list[Reading]
    rejections: list[Rejection]
    fields: Sequence[FieldFate] = ()  # per field, for a message a mapping decoded


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
        mappings: MappingSet = MappingSet(),  # noqa: B008 (frozen, empty)
        sparkplug: bool = False,  # decode spBv1.0/... topics as Sparkplug B
        series_cap: SeriesCap | None = None,
    ) -> None:
        self.patterns = patterns
        self.assets = assets
        self.default_site = default_site
        self.max_payload_bytes = max_payload_bytes
        self.strict_assets = strict_assets
        self.mappings = mappings
        self.fates: Counter[str] = Counter()  # fields of mapped messages, by fate
        self.sparkplug = SparkplugDecoder() if sparkplug else None
        self._topics: dict[bytes, Entry] = {}
        self._assets: dict[str, Topic | Rejection] = {}  # of Sparkplug nodes and devices
        self.shapes = shapes
        self.cap = series_cap  # None: no cap (tests, tools); the daemon always has one
        self._object = _dispatch(shapes, dict)  # a JSON object -> raw readings
        self._array = _dispatch(shapes, list)  # a JSON array
        self._plain = _dispatch(shapes, bytes)  # a payload that is not JSON

    def decode(self, topic: bytes, payload: bytes, received_at: float) -> Decoded:
        entry = self._topics.get(topic)
        if entry is None:
            entry = self._topic(topic)
        if not isinstance(entry, Topic):
            return self._not_shaped(entry, payload, received_at)
        if len(payload) > self.max_payload_bytes:
            return self._oversized(payload)
        try:
            raw = self._parse(payload, entry, received_at)
        except RejectError as rej:
            return _one(rej.reason, rej.detail)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            return _one("undecodable", f"{type(exc).__name__}: {exc}"[:200])
        cap = self.cap
        if type(raw) is Reading:
            if cap is None or (raw.site, raw.asset, raw.metric) in cap.known:
                return Decoded([raw], [])
            out = Decoded([raw], [])
        else:
            assert type(raw) is list
            out = Decoded([], [])
            for item in raw:
                self._check(entry, item, received_at, out)
        if cap is not None:
            _capped(cap, out)
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

    def _not_shaped(
        self, entry: Rejection | MappedTopic | SparkplugTopic, payload: bytes, now: float
    ) -> Decoded:
        """A topic no pattern of mqtt.topics decodes: refused, a mapping's or Sparkplug's."""
        if type(entry) is Rejection:
            return Decoded([], [entry])
        if type(entry) is SparkplugTopic:
            out = self._sparkplug_message(entry, payload, now)
        else:
            assert type(entry) is MappedTopic
            out = self._mapped(entry, payload, now)
        if self.cap is not None:  # mapped and Sparkplug series count against the caps too
            _capped(self.cap, out)
        return out

    def _sparkplug_message(self, entry: SparkplugTopic, payload: bytes, now: float) -> Decoded:
        """Sparkplug B: readings of the node or its devices, checked against the registry."""
        if len(payload) > self.max_payload_bytes:
            return self._oversized(payload)
        assert self.sparkplug is not None
        outcome = self.sparkplug.decode(entry, payload, now)
        out = Decoded([], [Rejection(*r) for r in outcome.rejections])
        for asset, raw in outcome.readings:
            topic = self._assets.get(asset)
            if topic is None:
                fields = TopicFields(self.default_site, asset, None)
                topic = self._assets.setdefault(asset, self._known(fields, False))
            if isinstance(topic, Topic):
                self._check(topic, raw, now, out)
            else:
                out.rejections.append(topic)
        return out

    def _oversized(self, payload: bytes) -> Decoded:
        return _one(
            "oversized",
            f"payload is {len(payload)} bytes, limit is {self.max_payload_bytes} "
            "(ingest.max_payload_bytes)",
        )

    def _mapped(self, entry: MappedTopic, payload: bytes, now: float) -> Decoded:
        """A topic a mapping takes: the mapping decides the fields, the registry checks them."""
        if len(payload) > self.max_payload_bytes:
            return self._oversized(payload)
        applied = apply_mapping(entry.mapping, entry.fields, payload, now, self.default_site)
        out = Decoded([], [], applied.fates)
        if applied.error is not None:
            out.rejections.append(Rejection(*applied.error))
        for fate in applied.fates:
            if fate.fate == "rejected":
                out.rejections.append(
                    Rejection(
                        fate.reason or "undecodable", f"{fate.path}: {fate.detail}", fate.metric
                    )
                )
            elif fate.fate != "mapped":
                self.fates[fate.fate] += 1
        for raw in applied.raws:
            self._check(entry.topic, raw, now, out)
        self.fates["mapped"] += len(out.readings)
        self.fates["rejected"] += len(out.rejections)
        return out

    def _topic(self, topic: bytes) -> Entry:
        result = self._parse_topic(topic)
        if len(self._topics) >= 100_000:
            self._topics.clear()
        self._topics[topic] = result
        return result

    def _parse_topic(self, topic: bytes) -> Entry:
        try:
            text = topic.decode("utf-8")
        except UnicodeDecodeError:
            return Rejection("bad_topic", "topic is not valid UTF-8")
        if not text.isprintable():  # its segments become asset and metric names
            return Rejection("bad_topic", f"topic {_shown(text)} has a control character")
        if self.sparkplug is not None and text.startswith(f"{NAMESPACE}/"):
            parsed = SparkplugTopic.parse(text)
            return parsed if isinstance(parsed, SparkplugTopic) else Rejection("bad_topic", parsed)
        found = self.mappings.find(text) if self.mappings else None
        if found is not None:
            return self._mapped_topic(*found)
        for pattern in self.patterns:
            tf = pattern.match(text, self.default_site)
            if tf is not None:
                return self._known(tf, pattern.has_metric)
        wanted = ", ".join(p.pattern for p in self.patterns)
        return Rejection("bad_topic", f"topic does not match the configured patterns ({wanted})")

    def _mapped_topic(
        self, mapping: MappingModel, fields: dict[str, str]
    ) -> MappedTopic | Rejection:
        site = fields.get("site", self.default_site)
        topic = self._known(TopicFields(site, fields["asset"], fields.get("metric")), None)
        return MappedTopic(mapping, fields, topic) if isinstance(topic, Topic) else topic

    def _known(self, tf: TopicFields, has_metric: bool | None) -> Topic | Rejection:
        """The topic with its asset and metric spec; has_metric None: whether it has one."""
        if self.strict_assets and self.assets.get(tf.asset) is None:
            return Rejection(
                "unknown_asset",
                f"asset {tf.asset!r} is not in {self.assets.source}; add it there "
                "or set ingest.strict_assets: false",
            )
        asset = self.assets.get(tf.asset)
        spec = asset.metric(tf.metric) if asset is not None and tf.metric else None
        metric = tf.metric is not None if has_metric is None else has_metric
        return Topic(tf, metric, asset, spec)

    def _check(self, topic: Topic, raw: Raw, now: float, out: Decoded) -> None:
        metric, ts, value, unit = raw
        if not metric.isprintable() or (unit is not None and not unit.isprintable()):
            what = f"metric name {_shown(metric)}" if not metric.isprintable() else "its unit"
            detail = (
                f"{what} has a control character (names become series, incident keys"
                " and ticket titles: only printable characters)"
            )
            out.rejections.append(Rejection("bad_name", detail, _shown(metric)))
            return
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


def _capped(cap: SeriesCap, out: Decoded) -> None:
    """Drop the readings of new series the cap refuses: one dead letter for them all."""
    kept, refused, why = [], [], ""
    for r in out.readings:
        key = (r.site, r.asset, r.metric)
        problem = None if key in cap.known else cap.admit(key)
        if problem is None:
            kept.append(r)
        else:
            refused.append(r.metric)
            why = problem
    if refused:
        out.readings = kept
        detail = f"{len(refused)} reading(s) of new series, first {_shown(refused[0])}: {why}"
        out.rejections.append(Rejection("too_many_series", detail))


def _shown(name: str) -> str:
    """A refused name as it may be printed: escaped by repr, cut to NAME_SHOWN."""
    text = repr(name)
    return text if len(text) <= NAME_SHOWN else text[: NAME_SHOWN - 3] + "..."


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
