"""What every payload shape shares: the shape entry, the topic a payload came on,
the raw readings a shape gives, and the refusal it raises.

A shape only turns a payload into raw readings ``(metric, ts, value, unit)``;
the decoder (gatewatch.sensors.decode) checks them against the asset registry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from gatewatch.core.assets import Asset, MetricSpec
from gatewatch.sensors.topics import TopicFields

MIN_TS = 946_684_800.0  # 2000-01-01: earlier means a device clock that was never set
MAX_FUTURE_S = 86_400.0
MS_THRESHOLD = 1e11  # epoch values above this are milliseconds

Raw = tuple[str, float, float, str | None]  # metric, ts (epoch s), value, unit (None: registry's)


class RejectError(Exception):
    """The payload cannot give readings; ``reason`` is one of decode.REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic with its asset and the spec of its {metric}, cached per topic."""

    fields: TopicFields
    has_metric: bool
    asset: Asset | None
    spec: MetricSpec | None


Parse = Callable[[Any, Topic, float], list[Raw]]


@dataclass(frozen=True, slots=True)
class Shape:
    """One payload shape: what it takes, how it is recognised, how it gives raw readings.

    ``takes`` is ``dict`` (a JSON object), ``list`` (a JSON array) or ``bytes``
    (a payload that is not JSON: its first non-blank byte is neither ``{`` nor
    ``[``). Of the shapes that take the same kind, the first in SHAPES whose
    ``accepts`` says yes parses it; ``accepts=None`` takes all of that kind.
    ``parse`` raises RejectError for what it cannot read; the decoder checks
    ranges, units and timestamp bounds.
    """

    name: str
    example: bytes  # a payload of this shape, on a building/{site}/{asset}/{metric} topic
    takes: type[dict[str, Any]] | type[list[Any]] | type[bytes]
    parse: Parse  # (document or payload, topic, now) -> raw readings
    accepts: Callable[[Any], bool] | None = None


def loads(payload: bytes) -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        reason = "bad_utf8" if "UTF-8" in str(exc) else "bad_json"
        raise RejectError(reason, f"JSON: {exc}") from None


def number(raw: Any) -> float:
    """A reading's value from a JSON number or boolean, or from the payload bytes."""
    if type(raw) is float:
        return raw
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float):
        try:
            return float(raw)
        except OverflowError:
            raise RejectError("not_a_number", "integer too large for a reading") from None
    if isinstance(raw, bytes):
        try:
            return float(raw)
        except ValueError:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise RejectError("bad_utf8", "payload is not valid UTF-8") from None
            raise RejectError("not_a_number", f"payload {text[:40]!r} is not a number") from None
    raise RejectError("not_a_number", f"value {raw!r:.40} is not a number")


def timestamp(raw: Any, now: float) -> float:
    """Epoch seconds from epoch seconds or milliseconds or ISO 8601; None is ``now``."""
    if type(raw) is float and -1e300 < raw < 1e300:  # NaN fails the comparison
        return raw / 1000.0 if raw > MS_THRESHOLD else raw
    if raw is None:
        return now
    if isinstance(raw, bool):
        raise RejectError("bad_timestamp", "ts must be epoch seconds or ISO 8601, got a boolean")
    if isinstance(raw, int | float):
        ts = float(raw) if abs(raw) < 1e300 else math.inf
        if not math.isfinite(ts):
            raise RejectError("bad_timestamp", f"ts is {ts}")
        return ts / 1000.0 if ts > MS_THRESHOLD else ts
    if isinstance(raw, str):
        try:
            dt = datetime.fromisoformat(raw)
        except ValueError:
            raise RejectError("bad_timestamp", f"ts {raw[:40]!r} is not ISO 8601") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    raise RejectError(
        "bad_timestamp", f"ts must be a number or ISO 8601 string, got {type(raw).__name__}"
    )


def name_prefix(topic: Topic) -> str:
    """What goes before a name from the payload: ``<the topic's {metric}>.``, if it has one."""
    metric = topic.fields.metric
    return f"{metric}." if topic.has_metric and metric else ""
