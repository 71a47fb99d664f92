"""Payload decoding: topic + payload bytes -> readings, or a reason it was refused.

Formats (detected per message):
- plain number: ``23.4``
- JSON object with ``value``: ``{"value": 23.4, "ts": 1732400000.1, "unit": "C"}``
- JSON object with several metrics: ``{"ts": ..., "rms": 2.1, "peak": 6.3}``
- SenML JSON (RFC 8428): an array of records

``ts`` is epoch seconds or ISO 8601; values above 1e11 are taken as
milliseconds; missing means receive time. Everything is checked against the
asset registry (valid range, unit, and in strict mode known assets/metrics).
Nothing here raises on bad input: a refused reading becomes a Rejection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from math import isfinite
from typing import Any

import orjson
from gatewatch.core.assets import Asset, AssetRegistry, MetricSpec
from gatewatch.core.reading import Reading
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
    "undecodable",
)
_MIN_TS = 946_684_800.0  # 2000-01-01: earlier means a device clock that was never set
_MAX_FUTURE_S = 86_400.0
_MS_THRESHOLD = 1e11
_SENML_RELATIVE = 2**28
_RESERVED_KEYS = frozenset(("ts", "time", "timestamp", "unit"))


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    detail: str
    metric: str | None = None


class _RejectError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail


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
    ) -> None:
        self.patterns = patterns
        self.assets = assets
        self.default_site = default_site
        self.max_payload_bytes = max_payload_bytes
        self.strict_assets = strict_assets
        self._topics: dict[bytes, _Topic | Rejection] = {}

    def decode(self, topic: bytes, payload: bytes, received_at: float) -> Decoded:
        entry = self._topics.get(topic)
        if entry is None:
            entry = self._topic(topic)
        if type(entry) is Rejection:
            return Decoded([], [entry])
        assert type(entry) is _Topic
        if len(payload) > self.max_payload_bytes:
            return _one(
                "oversized",
                f"payload is {len(payload)} bytes, limit is {self.max_payload_bytes} "
                "(ingest.max_payload_bytes)",
            )
        try:
            raw = _parse(payload, entry, received_at, self.strict_assets)
        except _RejectError as rej:
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

    def _topic(self, topic: bytes) -> _Topic | Rejection:
        result = self._parse_topic(topic)
        if len(self._topics) >= 100_000:
            self._topics.clear()
        self._topics[topic] = result
        return result

    def _parse_topic(self, topic: bytes) -> _Topic | Rejection:
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
                return _Topic(tf, pattern.has_metric, asset, spec)
        wanted = ", ".join(p.pattern for p in self.patterns)
        return Rejection("bad_topic", f"topic does not match the configured patterns ({wanted})")

    def _check(self, topic: _Topic, raw: Raw, now: float, out: Decoded) -> None:
        metric, ts, value, unit = raw
        if not isfinite(value):
            out.rejections.append(Rejection("non_finite", f"value is {value}", metric))
            return
        if ts < _MIN_TS or ts > now + _MAX_FUTURE_S:
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
        out.readings.append(Reading(tf.site, tf.asset, metric, ts, value, unit))


@dataclass(frozen=True, slots=True)
class _Topic:
    """A parsed topic with its asset and the spec of its {metric}, cached per topic."""

    fields: TopicFields
    has_metric: bool
    asset: Asset | None
    spec: MetricSpec | None


def _one(reason: str, detail: str) -> Decoded:
    return Decoded([], [Rejection(reason, detail)])


Raw = tuple[str, float, float, str | None]


def _parse(payload: bytes, topic: _Topic, now: float, strict: bool) -> Reading | list[Raw]:
    tf, has_metric = topic.fields, topic.has_metric
    head = payload[:1]
    if head == b"{":  # the common case first
        doc = _loads(payload)
        return _single_value(topic, doc, now, strict) or _json_object(doc, tf, has_metric, now)
    if not head or head.isspace():  # only then strip: lstrip copies the payload
        head = payload.lstrip()[:1]
    if head in (b"{", b"["):
        doc = _loads(payload)
        if isinstance(doc, list):
            return _senml(doc, tf, has_metric, now)
        return _json_object(doc, tf, has_metric, now)
    if not head:
        raise _RejectError("empty", "payload is empty")
    if tf.metric is None:
        raise _RejectError("no_metric", "a plain number needs a {metric} segment in the topic")
    return [(tf.metric, now, _number(payload), None)]


def _loads(payload: bytes) -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        reason = "bad_utf8" if "UTF-8" in str(exc) else "bad_json"
        raise _RejectError(reason, f"JSON: {exc}") from None


def _single_value(topic: _Topic, doc: Any, now: float, strict: bool) -> Reading | None:
    """The hot path: ``{"value": float, "ts": epoch seconds, "unit": str}`` that
    passes every check, decoded in one step. None means "take the general path",
    which decides everything else and gives the same Reading for what this accepts."""
    if type(doc) is not dict or "ts" not in doc:
        return None
    value, ts, unit = doc.get("value"), doc["ts"], doc.get("unit")
    tf, spec = topic.fields, topic.spec
    if (
        type(value) is not float
        or type(ts) is not float
        or not (unit is None or type(unit) is str)
        or tf.metric is None
        or not isfinite(value)
        or not _MIN_TS <= ts <= min(now + _MAX_FUTURE_S, _MS_THRESHOLD)
    ):
        return None
    if spec is None:
        if strict and topic.asset is not None and topic.asset.metrics:
            return None
    elif (unit is not None and spec.unit is not None and unit != spec.unit) or not (
        spec.min <= value <= spec.max
    ):
        return None
    elif unit is None:
        unit = spec.unit
    return Reading(tf.site, tf.asset, tf.metric, ts, value, unit)


def _number(raw: Any) -> float:
    if type(raw) is float:
        return raw
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float):
        try:
            return float(raw)
        except OverflowError:
            raise _RejectError("not_a_number", "integer too large for a reading") from None
    if isinstance(raw, bytes):
        try:
            return float(raw)
        except ValueError:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _RejectError("bad_utf8", "payload is not valid UTF-8") from None
            raise _RejectError("not_a_number", f"payload {text[:40]!r} is not a number") from None
    raise _RejectError("not_a_number", f"value {raw!r:.40} is not a number")


def _timestamp(raw: Any, now: float) -> float:
    if type(raw) is float and -1e300 < raw < 1e300:  # NaN fails the comparison
        return raw / 1000.0 if raw > _MS_THRESHOLD else raw
    if raw is None:
        return now
    if isinstance(raw, bool):
        raise _RejectError("bad_timestamp", "ts must be epoch seconds or ISO 8601, got a boolean")
    if isinstance(raw, int | float):
        ts = float(raw) if abs(raw) < 1e300 else math.inf
        if not math.isfinite(ts):
            raise _RejectError("bad_timestamp", f"ts is {ts}")
        return ts / 1000.0 if ts > _MS_THRESHOLD else ts
    if isinstance(raw, str):
        try:
            dt = datetime.fromisoformat(raw)
        except ValueError:
            raise _RejectError("bad_timestamp", f"ts {raw[:40]!r} is not ISO 8601") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    raise _RejectError(
        "bad_timestamp", f"ts must be a number or ISO 8601 string, got {type(raw).__name__}"
    )


def _name(tf: TopicFields, has_metric: bool, name: str) -> str:
    return f"{tf.metric}.{name}" if has_metric and tf.metric else name


def _json_object(doc: Any, tf: TopicFields, has_metric: bool, now: float) -> list[Raw]:
    if not isinstance(doc, dict):
        if isinstance(doc, int | float) and tf.metric is not None:
            return [(tf.metric, now, _number(doc), None)]
        raise _RejectError("bad_json", f"expected a JSON object or array, got {type(doc).__name__}")
    ts = _timestamp(
        doc["ts"] if "ts" in doc else doc["time"] if "time" in doc else doc.get("timestamp"), now
    )
    unit = doc.get("unit")
    if unit is not None and type(unit) is not str:
        unit = str(unit)
    if "value" in doc:
        if tf.metric is None:
            raise _RejectError(
                "no_metric", "a {value} object needs a {metric} segment in the topic"
            )
        return [(tf.metric, ts, _number(doc["value"]), unit)]
    out: list[Raw] = [
        (_name(tf, has_metric, k), ts, _number(v), None)
        for k, v in doc.items()
        if k not in _RESERVED_KEYS
    ]
    if not out:
        raise _RejectError("no_metric", "JSON object has no value and no metric keys")
    return out


def _senml(records: list[Any], tf: TopicFields, has_metric: bool, now: float) -> list[Raw]:
    if not records:
        raise _RejectError("bad_senml", "empty SenML pack")
    bn, bt, bu, bv = "", 0.0, None, 0.0
    out: list[Raw] = []
    for rec in records:
        if not isinstance(rec, dict):
            raise _RejectError("bad_senml", "SenML records must be JSON objects")
        bn = str(rec.get("bn", bn))
        bt = _senml_float(rec, "bt", bt)
        bu = rec.get("bu", bu)
        bv = _senml_float(rec, "bv", bv)
        name = bn + str(rec.get("n", ""))
        if not name:
            raise _RejectError("bad_senml", "SenML record without a name (n or bn)")
        if "v" in rec:
            value = bv + _number(rec["v"])
        elif "vb" in rec:
            value = _number(bool(rec["vb"]))
        elif "vs" in rec or "vd" in rec:
            raise _RejectError("not_a_number", f"SenML record {name!r} has a string/data value")
        elif "n" not in rec:
            continue  # a record carrying only base fields
        else:
            raise _RejectError("bad_senml", f"SenML record {name!r} has no value")
        t = bt + _senml_float(rec, "t", 0.0)
        ts = now + t if t < _SENML_RELATIVE else t
        unit = rec.get("u", bu)
        out.append((_name(tf, has_metric, name), ts, value, None if unit is None else str(unit)))
    if not out:
        raise _RejectError("bad_senml", "SenML pack has no values")
    return out


def _senml_float(rec: dict[str, Any], key: str, default: float) -> float:
    if key not in rec:
        return default
    raw = rec[key]
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise _RejectError("bad_senml", f"SenML {key} must be a number, got {raw!r:.40}")
    return float(raw)
