"""Mapping files (``mappings.paths``, by default ``mappings/`` beside gatewatch.yaml)
-> a MappingSet, every problem reported with file:line:col and all at once.

A file holds ``mappings:``, a list; each entry names a ``topic`` pattern and
what to take from its payloads (README, "Connecting your devices"):

    mappings:
      - name: tasmota-state
        topic: "tele/{asset}/STATE"
        timestamp: {path: Time, format: iso8601}
        fields:
          POWER: {metric: power, values: {"ON": 1, "OFF": 0}}
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gatewatch.core.assets import AssetRegistry
from gatewatch.core.states import StateTable
from gatewatch.core.yamlsource import (
    ConfigError,
    Location,
    LocDict,
    Problem,
    Section,
    parse_yaml,
)
from gatewatch.daemon.config.files import read_texts, rule_paths
from gatewatch.sensors.mapping.model import (
    TIME_FORMATS,
    UNMAPPED,
    FieldMap,
    Mapping,
    MappingSet,
    TimeSpec,
)
from gatewatch.sensors.mapping.path import PathError, parse_path
from gatewatch.sensors.mapping.topic import MappingTopic, MappingTopicError

_FIELD_KEYS = ("path", "metric", "values", "names", "unit", "scale", "offset")


def load_mapping_files(paths: Iterable[Path]) -> MappingSet:
    """Read and check every file (a folder: its *.yaml); raise one ConfigError with all."""
    problems: list[Problem] = []
    texts = read_texts(rule_paths(paths), problems)
    found: list[Mapping] = []
    for file, text in texts:
        try:
            found += parse_mappings(text, file, problems)
        except ConfigError as exc:  # a YAML syntax error
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return MappingSet(tuple(found))


def state_table(maps: MappingSet) -> StateTable:
    """The state names the mappings declare, per metric. A metric named after the topic's
    {metric} becomes a pattern (``{metric}.output``: ``*.output``); one that is only the
    topic's {metric} (ESPHome's ``value``) names no metric, so it gives no state names."""
    entries = []
    for mapping in maps.mappings:
        for spec in (*mapping.fields, *((mapping.value,) if mapping.value else ())):
            pattern = spec.metric.replace("{metric}", "*")
            if (spec.values is not None or spec.names is not None) and pattern.strip("*"):
                entries.append((pattern, spec.state_names()))
    return StateTable.of(entries)


def with_states(assets: AssetRegistry, mappings: MappingSet) -> AssetRegistry:
    """The registry with the state names the mappings declare (rules: value == "stuck")."""
    return replace(assets, states=state_table(mappings))


def parse_mappings(text: str, file: str, problems: list[Problem]) -> list[Mapping]:
    root = Section.root(parse_yaml(text, file), file, problems)
    items = root.sequence("mappings", [])
    root.check_unknown()
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, LocDict):
            problems.append(
                Problem(items.where(i), "each mapping must be a mapping (name, topic, ...)")
            )
            continue
        mapping = _mapping(Section(item, problems, f"mappings[{i}]"), file)
        if mapping is not None:
            out.append(mapping)
    return out


def _mapping(s: Section, file: str) -> Mapping | None:
    origin = f"{file}:{s.loc.line}"
    name = s.text("name", f"{Path(file).stem}[{s.loc.line}]")
    topic = _topic(s)
    has_metric = topic is not None and "{metric}" in topic.segments
    default = "{metric}." if has_metric else ""
    fields = _fields(s.section("fields"), default)
    value = _field(s.section("value"), None, "{metric}") if s.has("value") else None
    if value is not None and not has_metric and value.metric == "{metric}":
        s.error("value", "value needs a metric: name it (metric: ...) or put {metric} in the topic")
    timestamp = _timestamp(s.section("timestamp")) if s.has("timestamp") else None
    ignore = [str(p) for p in s.sequence("ignore", [])]
    root = _path(s, "root", s.text("root", ""))
    unmapped = s.text("unmapped", "count", choices=UNMAPPED)
    s.check_unknown()
    if topic is None:
        return None
    return Mapping(
        name, topic, origin, tuple(fields), value, root, timestamp, tuple(ignore), unmapped
    )


def _topic(s: Section) -> MappingTopic | None:
    pattern = s.text("topic")
    if not isinstance(pattern, str):
        return None
    try:
        return MappingTopic.parse(pattern)
    except MappingTopicError as exc:
        s.error("topic", str(exc))
        return None


def _path(s: Section, key: str | None, text: Any) -> tuple[str, ...]:
    try:
        return parse_path(str(text))
    except PathError as exc:
        s.error(key, str(exc))
        return ()


def _fields(s: Section, default_prefix: str) -> list[FieldMap]:
    out = []
    for key, given in s.items():
        s.raw(key)
        spec = given if given is not None else _empty(s.mapping.where(key))
        if not isinstance(spec, LocDict):
            s.error(key, f"{s.path}.{key} must be a mapping (metric, values, unit, ...) or empty")
            continue
        field = _field(Section(spec, s.problems, f"{s.path}.{key}"), key, default_prefix + key)
        if field is not None:
            out.append(field)
    return out


def _empty(loc: Location) -> LocDict:
    out = LocDict()
    out.loc, out.key_locs, out.value_locs = loc, {}, {}
    return out


def _field(s: Section, key: str | None, default_metric: str) -> FieldMap | None:
    """One field's spec; ``key`` is its path (``value``: None, the path is ``path:``)."""
    source = key if key is not None else s.text("path", "")
    path = _path(s, "path" if key is None else None, source) if source is not None else ()
    metric = s.text("metric", default_metric)
    values = _values(s)
    names = _names(s)
    unit = s.text("unit", None)
    scale = s.number("scale", 1.0)
    offset = s.number("offset", 0.0)
    s.check_unknown(_FIELD_KEYS if key is None else _FIELD_KEYS[1:])
    if not isinstance(metric, str) or not metric:
        return None
    return FieldMap(path, str(source), metric, values, names, unit, float(scale), float(offset))


def _values(s: Section) -> dict[str, float] | None:
    raw = s.section("values") if s.has("values") else None
    if raw is None:
        return None
    out: dict[str, float] = {}
    for text, number in raw.items():
        raw.raw(text)
        if text in ("True", "False"):
            raw.problems.append(
                Problem(
                    raw.mapping.key_locs[text],
                    f"{raw.path}: YAML read a key as {text} (ON, OFF, yes, no, true, false "
                    'unquoted are booleans); quote the text the device sends, e.g. "ON": 1',
                )
            )
        elif (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or not math.isfinite(number)
        ):
            raw.error(text, f"{raw.path}.{text} must be a number (what {text!r} stands for)")
        else:
            out[text] = float(number)
    return out


def _names(s: Section) -> dict[float, str] | None:
    raw = s.section("names") if s.has("names") else None
    if raw is None:
        return None
    out: dict[float, str] = {}
    for number, name in raw.items():
        raw.raw(number)
        try:
            value = float(number)
        except ValueError:
            raw.problems.append(
                Problem(
                    raw.mapping.key_locs[number], f"{raw.path}: key {number!r} must be a number"
                )
            )
            continue
        if not isinstance(name, str) or not name:
            raw.error(number, f"{raw.path}.{number} must be a state name (text)")
        else:
            out[value] = name
    return out


def _timestamp(s: Section) -> TimeSpec:
    source = s.text("path")
    path = _path(s, "path", source) if isinstance(source, str) else ()
    fmt = s.text("format", "auto", choices=TIME_FORMATS)
    zone_name = s.text("timezone", None)
    zone = None
    if zone_name is not None:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            s.error(
                "timezone",
                f"unknown time zone {zone_name!r}; use an IANA name such as Europe/Berlin",
            )
    s.check_unknown()
    return TimeSpec(path, str(source), fmt, zone)
