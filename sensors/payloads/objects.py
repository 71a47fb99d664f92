"""JSON objects: ``{"value": 23.4, "ts": ..., "unit": "C"}`` (one reading of the topic's
{metric}) and ``{"ts": ..., "rms": 2.1, "peak": 6.3}`` (one reading per key).

``ts`` (or ``time``, ``timestamp``) is epoch seconds, milliseconds (> 1e11) or
ISO 8601; missing means receive time.
"""

from __future__ import annotations

from math import isfinite
from typing import Any

from gatewatch.core.reading import Reading
from gatewatch.sensors.payloads.base import (
    MAX_FUTURE_S,
    MIN_TS,
    MS_THRESHOLD,
    Raw,
    RejectError,
    Shape,
    Topic,
    name_prefix,
    number,
    timestamp,
)

RESERVED_KEYS = frozenset(("ts", "time", "timestamp", "unit"))


def _value(doc: dict[str, Any], topic: Topic, now: float) -> list[Raw]:
    ts = timestamp(doc["ts"] if "ts" in doc else doc.get("time", doc.get("timestamp")), now)
    unit = doc.get("unit")
    if unit is not None and type(unit) is not str:
        unit = str(unit)
    if topic.fields.metric is None:
        raise RejectError("no_metric", "a {value} object needs a {metric} segment in the topic")
    return [(topic.fields.metric, ts, number(doc["value"]), unit)]


def _metrics(doc: dict[str, Any], topic: Topic, now: float) -> list[Raw]:
    ts = timestamp(doc["ts"] if "ts" in doc else doc.get("time", doc.get("timestamp")), now)
    prefix = name_prefix(topic)
    out: list[Raw] = [
        (prefix + k, ts, number(v), None) for k, v in doc.items() if k not in RESERVED_KEYS
    ]
    if not out:
        raise RejectError("no_metric", "JSON object has no value and no metric keys")
    return out


def _has_value(doc: dict[str, Any]) -> bool:
    return "value" in doc


VALUE = Shape(
    "value",
    example=b'{"value": 23.4, "ts": 1732400000.1, "unit": "C"}',
    takes=dict,
    parse=_value,
    accepts=_has_value,
)
METRICS = Shape(
    "metrics",
    example=b'{"ts": 1732400000.1, "rms": 2.1, "peak": 6.3}',
    takes=dict,
    parse=_metrics,
)


def single_value(topic: Topic, doc: Any, now: float, strict: bool) -> Reading | None:
    """The hot path of VALUE: ``{"value": float, "ts": epoch seconds, "unit": str}`` that
    passes every check, decoded in one step. None means "take the general path",
    which decides everything else and gives the same Reading for what this accepts."""
    if type(doc) is not dict or "ts" not in doc:
        return None
    value, ts, unit = doc.get("value"), doc["ts"], doc.get("unit")
    tf, spec = topic.fields, topic.spec
    if (
        type(value) is not float
        or type(ts) is not float
        or not (unit is None or (type(unit) is str and unit.isprintable()))
        or tf.metric is None
        or not isfinite(value)
        or not MIN_TS <= ts <= min(now + MAX_FUTURE_S, MS_THRESHOLD)
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
