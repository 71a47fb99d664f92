"""``gatewatch map test``: what the configured mappings make of sample messages.

Each sample (topic, payload, and in a samples file its expected ``readings``,
optional ``ts`` and ``rejections``) goes through the same decoder as the live
daemon. The report says the readings that would be stored, every field's fate
and every dead letter with its reason; a sample fails on a dead letter it did
not expect or on readings other than those expected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gatewatch.core.reading import Reading
from gatewatch.core.yamlsource import ConfigError, LocDict, Problem, Section, parse_yaml
from gatewatch.daemon.config.decoder import build_decoder
from gatewatch.daemon.config.files import read_text
from gatewatch.daemon.config.load import Config
from gatewatch.sensors.decode import Decoded, PayloadDecoder
from gatewatch.sensors.mapping.model import MappingSet


@dataclass(frozen=True, slots=True)
class Sample:
    topic: str
    payload: bytes
    name: str = ""
    readings: dict[str, float] | None = None  # expected metric -> value; None: not checked
    ts: float | None = None
    rejections: tuple[str, ...] = ()  # expected dead-letter reasons


@dataclass(slots=True)
class Outcome:
    sample: Sample
    mapping: str | None  # the mapping that took the topic, with its origin
    decoded: Decoded
    state_names: dict[str, dict[float, str]]
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def run_samples(cfg: Config, samples: list[Sample], now: float) -> list[Outcome]:
    decoder = build_decoder(cfg)
    return [_run(decoder, cfg.mappings, sample, now) for sample in samples]


def _run(decoder: PayloadDecoder, maps: MappingSet, sample: Sample, now: float) -> Outcome:
    decoded = decoder.decode(sample.topic.encode(), sample.payload, now)
    found = maps.find(sample.topic)
    names: dict[str, dict[float, str]] = {}
    if found is not None:
        mapping, fields = found
        for spec in (*mapping.fields, *((mapping.value,) if mapping.value else ())):
            if spec.values is not None or spec.names is not None:
                names[spec.metric_name(fields.get("metric"))] = spec.state_names()
    label = f"{found[0].name} ({found[0].origin})" if found else None
    out = Outcome(sample, label, decoded, names)
    out.failures = _failures(sample, decoded, now)
    return out


def _failures(sample: Sample, decoded: Decoded, now: float) -> list[str]:
    failures = []
    got = sorted(r.reason for r in decoded.rejections)
    if got != sorted(sample.rejections):
        want = ", ".join(sample.rejections) or "none"
        failures.append(f"dead letters: expected {want}, got {', '.join(got) or 'none'}")
    if sample.readings is not None:
        values = {r.metric: r.value for r in decoded.readings}
        if values.keys() != sample.readings.keys() or any(
            not math.isclose(values[k], v, rel_tol=1e-9, abs_tol=1e-12)
            for k, v in sample.readings.items()
        ):
            failures.append(f"readings: expected {sample.readings}, got {values}")
    if sample.ts is not None and any(r.ts != sample.ts for r in decoded.readings):
        got_ts = sorted({r.ts for r in decoded.readings})
        failures.append(f"ts: expected {sample.ts}, got {got_ts}")
    return failures


def load_samples(path: Path) -> list[Sample]:
    """A samples file: ``samples:``, a list of {topic, payload, name, readings, ts,
    rejections} (tests/sensors/samples/presets.yaml is one); ConfigError with file:line."""
    text = read_text(path, missing="samples file not found; check the path")
    problems: list[Problem] = []
    root = Section.root(parse_yaml(text, str(path)), str(path), problems)
    items = root.sequence("samples")
    root.check_unknown()
    out = []
    for i, item in enumerate(items or []):
        if not isinstance(item, LocDict):
            problems.append(
                Problem(items.where(i), "each sample must be a mapping (topic, payload)")
            )
            continue
        sample = _sample(Section(item, problems, f"samples[{i}]"))
        if sample is not None:
            out.append(sample)
    if problems:
        raise ConfigError(problems)
    return out


# unmapped, ignored: the preset tests' expectations, not checked here
_SAMPLE_KEYS: tuple[str, ...] = ("name", "source", "topic", "payload", "readings", "ts")
_SAMPLE_KEYS += ("rejections", "unmapped", "ignored")


def _sample(s: Section) -> Sample | None:
    topic, payload = s.text("topic"), s.raw("payload")
    if isinstance(payload, bool | int | float):  # payload: 21.5 in YAML
        payload = str(payload).lower() if isinstance(payload, bool) else str(payload)
    elif not isinstance(payload, str):
        s.error("payload" if s.has("payload") else None, f"{s.path}.payload must be the text sent")
    readings = s.section("readings") if s.has("readings") else None
    values = None if readings is None else {str(k): readings.number(k) for k, _ in readings.items()}
    ts = s.number("ts", None)
    rejections = tuple(str(r) for r in s.sequence("rejections", []))
    s.check_unknown(_SAMPLE_KEYS)
    if not isinstance(topic, str) or not isinstance(payload, str):
        return None
    name = s.text("name", "")
    expected = None if values is None else {k: float(v) for k, v in values.items() if v is not None}
    return Sample(topic, payload.encode(), name, expected, ts, rejections)


def outcome_json(o: Outcome) -> dict[str, Any]:
    return {
        "name": o.sample.name,
        "topic": o.sample.topic,
        "mapping": o.mapping,
        "readings": [_reading_json(r, o.state_names) for r in o.decoded.readings],
        "fields": [
            {
                "path": f.path,
                "fate": f.fate,
                "metric": f.metric,
                "reason": f.reason,
                "detail": f.detail,
            }
            for f in o.decoded.fields
        ],
        "dead_letters": [
            {"reason": r.reason, "detail": r.detail, "metric": r.metric}
            for r in o.decoded.rejections
        ],
        "ok": o.ok,
        "failures": o.failures,
    }


def _reading_json(r: Reading, names: dict[str, dict[float, str]]) -> dict[str, Any]:
    return {
        "site": r.site,
        "asset": r.asset,
        "metric": r.metric,
        "ts": r.ts,
        "value": r.value,
        "unit": r.unit,
        "state": names.get(r.metric, {}).get(r.value),
    }


def format_outcome(o: Outcome) -> list[str]:
    head = o.sample.name or o.sample.topic
    lines = [
        f"{'ok  ' if o.ok else 'FAIL'} {head}",
        f"     topic {o.sample.topic} -> {o.mapping or 'mqtt.topics'}",
    ]
    for r in o.decoded.readings:
        state = o.state_names.get(r.metric, {}).get(r.value)
        shown = f"{r.value:g}" + (f" ({state})" if state else "") + (f" {r.unit}" if r.unit else "")
        when = datetime.fromtimestamp(r.ts, UTC).isoformat(timespec="milliseconds")
        lines.append(f"     reading {r.site}/{r.asset}/{r.metric} = {shown} at {when}")
    for f in o.decoded.fields:
        extra = f" -> {f.metric}" if f.fate == "mapped" else f" ({f.detail})" if f.detail else ""
        lines.append(f"     field {f.path}: {f.fate}{extra}")
    for rej in o.decoded.rejections:
        lines.append(f"     dead letter {rej.reason}: {rej.detail}")
    lines += [f"     {failure}" for failure in o.failures]
    return lines
