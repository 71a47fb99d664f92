"""The mapping model: per topic pattern, which fields become which metrics and how.

A value of ``values`` maps a payload's text (``ON``, ``true``, ``closed``, a
fault code) to a number; ``names`` names numbers (for rules and tickets). A
state metric's names are ``names`` if given, else the texts of ``values``.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingOf
from dataclasses import dataclass
from datetime import tzinfo

from gatewatch.sensors.mapping.path import Path
from gatewatch.sensors.mapping.topic import MappingTopic

TIME_FORMATS = ("auto", "epoch_s", "epoch_ms", "epoch_us", "iso8601")
UNMAPPED = ("count", "numbers")  # unmapped fields: only counted, or numbers taken as metrics


@dataclass(frozen=True, slots=True)
class FieldMap:
    """One field: where it is, which metric it becomes, how its value becomes a number."""

    path: Path
    source: str  # the path as written
    metric: str  # may hold {metric}: the topic's {metric} segment
    values: MappingOf[str, float] | None = None  # payload text -> number
    names: MappingOf[float, str] | None = None  # number -> state name
    unit: str | None = None
    scale: float = 1.0
    offset: float = 0.0

    def metric_name(self, topic_metric: str | None) -> str:
        if "{metric}" in self.metric:
            return self.metric.replace("{metric}", topic_metric or "")
        return self.metric

    def state_names(self) -> dict[float, str]:
        if self.names is not None:
            return dict(self.names)
        out: dict[float, str] = {}
        for text, number in (self.values or {}).items():
            out.setdefault(number, text)
        return out


@dataclass(frozen=True, slots=True)
class TimeSpec:
    path: Path
    source: str
    format: str = "auto"  # one of TIME_FORMATS
    zone: tzinfo | None = None  # for ISO 8601 without a zone; None: UTC


@dataclass(frozen=True, slots=True)
class Mapping:
    """The mapping of one topic pattern. ``value`` maps a payload that is one value."""

    name: str
    topic: MappingTopic
    origin: str  # file:line, for messages
    fields: tuple[FieldMap, ...] = ()
    value: FieldMap | None = None
    root: Path = ()  # field paths are relative to this path
    timestamp: TimeSpec | None = None
    ignore: tuple[str, ...] = ()  # fnmatch patterns of paths to skip
    unmapped: str = "count"  # one of UNMAPPED


@dataclass(frozen=True, slots=True)
class MappingSet:
    """Every configured mapping, in declaration order; ``find`` picks the one that wins."""

    mappings: tuple[Mapping, ...] = ()

    def find(self, topic: str) -> tuple[Mapping, dict[str, str]] | None:
        best: tuple[Mapping, dict[str, str]] | None = None
        for m in self.mappings:
            fields = m.topic.match(topic)
            if fields is not None and (
                best is None or m.topic.specificity > best[0].topic.specificity
            ):
                best = (m, fields)
        return best

    @property
    def subscriptions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.topic.subscription for m in self.mappings))

    def __bool__(self) -> bool:
        return bool(self.mappings)
