"""Rule unit tests as YAML, in the spirit of ``promtool test rules``.

    rule_files: [../lifts.yaml]
    assets: ../../assets.yaml
    start: 2026-11-24T21:00:00Z
    tests:
      - name: rope break is P1 at once, updated every 5 minutes
        until: 12m
        input:
          - series: lift-a1/rope_break     # asset/metric (site: the test's site)
            interval: 1m
            values: "0 1x12"               # promtool style: "1x12" = twelve times 1, _ = none
        expect:
          - {at: 1m, kind: fired, rule: lift-rope-break, asset: lift-a1, priority: 1}
          - {at: 6m, kind: updated, rule: lift-rope-break, asset: lift-a1}

The events produced must equal ``expect`` exactly (time, kind, rule, asset);
optional keys (priority, title_contains, body_contains, potentially_critical,
predictive, incident) are checked when given. Parsing is pure; the CLI reads
the files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gatewatch.core.assets import AssetRegistry
from gatewatch.core.events import AlertEvent, EventKind
from gatewatch.core.reading import Reading
from gatewatch.core.signals import DerivedSignal
from gatewatch.core.yamlsource import LocDict, LocList, Problem, Section, parse_yaml
from gatewatch.rules.engine import Engine
from gatewatch.rules.language.durations import DurationError, format_duration, parse_duration
from gatewatch.rules.language.model import RuleSet
from gatewatch.rules.replay import Sample, replay

DEFAULT_START = "2026-01-05T08:00:00Z"
_REPEAT = re.compile(r"^\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?:x\s*(\d+))?\s*$")
KINDS = tuple(k.value for k in EventKind)
OPTIONAL = (
    "priority",
    "title_contains",
    "body_contains",
    "potentially_critical",
    "predictive",
    "incident",
)


@dataclass(frozen=True, slots=True)
class Expected:
    at: float
    kind: str
    rule: str
    asset: str
    checks: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    site: str
    tick: float
    until: float
    samples: tuple[Sample, ...]
    expect: tuple[Expected, ...]
    where: str
    start: float


@dataclass(frozen=True, slots=True)
class TestFile:
    file: str
    rule_files: tuple[str, ...]
    assets: str | None
    start: float
    cases: tuple[Case, ...]


def parse_test_file(text: str, file: str, problems: list[Problem]) -> TestFile:
    root = Section.root(parse_yaml(text, file), file, problems)
    rule_files = root.sequence("rule_files")
    start = _time(root, "start", DEFAULT_START)
    items = root.sequence("tests")
    cases = []
    for index, item in enumerate(items or []):
        if not isinstance(item, LocDict):
            problems.append(Problem(items.where(index), "each test must be a mapping"))
            continue
        cases.append(_case(Section(item, problems, f"tests[{index}]"), start))
    assets = root.text("assets", None)
    root.check_unknown()
    return TestFile(file, tuple(str(f) for f in rule_files or []), assets, start, tuple(cases))


def _time(s: Section, key: str, default: str) -> float:
    raw = s.raw(key, default)
    try:
        stamp = (
            raw
            if isinstance(raw, datetime)
            else datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        )
        if stamp.tzinfo is None:
            raise ValueError("no time zone")
        return float(stamp.timestamp())
    except ValueError:
        s.error(key, f"{key} must be an ISO 8601 time such as 2026-01-05T08:00:00Z")
        return datetime.fromisoformat(default.replace("Z", "+00:00")).timestamp()


def _offset(s: Section, key: str, default: float | None = None) -> float:
    raw = s.raw(key)
    if raw is None:
        if default is None:
            s.error(None, f"missing required key {key!r} (a time offset such as 5m)")
        return default or 0.0
    try:
        return float(parse_duration(raw))
    except DurationError as exc:
        s.error(key, f"{s.path}.{key}: {exc}")
        return 0.0


def _case(s: Section, start: float) -> Case:
    site = s.text("site", "hq")
    samples = _inputs(s, site, start)
    expect = _expectations(s, start)
    last = max([x.ts - start for x in samples] + [e.at - start for e in expect] + [0.0])
    case = Case(
        name=s.text("name", s.path),
        site=site,
        tick=_offset(s, "tick", 10.0) or 10.0,
        until=start + _offset(s, "until", last),
        samples=tuple(sorted(samples, key=lambda x: x.ts)),
        expect=tuple(expect),
        where=str(s.loc),
        start=start,
    )
    s.check_unknown()
    return case


def _inputs(s: Section, site: str, start: float) -> list[Sample]:
    out: list[Sample] = []
    items = s.sequence("input", LocList())
    for index, item in enumerate(items or []):
        if not isinstance(item, LocDict):
            s.problems.append(Problem(items.where(index), "each input must be a mapping"))
            continue
        out.extend(_series(Section(item, s.problems, f"{s.path}.input[{index}]"), site, start))
    return out


def _series(s: Section, site: str, start: float) -> list[Sample]:
    name = s.text("series")
    asset, _, metric = (name or "").partition("/")
    if name is not None and not (asset and metric):
        s.error("series", "series must be asset/metric, e.g. lift-a1/rope_break")
    first = start + _offset(s, "from", 0.0)
    interval = _offset(s, "interval", 60.0)
    evidence = _evidence(s.section("evidence"))
    values = _values(s)
    s.check_unknown()
    out: list[Sample] = []
    for i, v in enumerate(values):
        if v is None:
            continue
        ts = first + i * interval
        if evidence:
            out.append(DerivedSignal(site, asset, metric, ts, v, evidence))
        else:
            out.append(Reading(site, asset, metric, ts, v))
    return out


def _evidence(s: Section) -> dict[str, str | float]:
    """Evidence of a derived signal (anomaly/): names -> text or numbers."""
    out: dict[str, str | float] = {}
    for key, value in s.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            s.error(key, f"{s.path}.{key} must be a text or a number")
            continue
        out[key] = value if isinstance(value, str) else float(value)
    return out


def _values(s: Section) -> list[float | None]:
    """A list of numbers / null, or a string "0x10 1x5 _ 2.5" (VxN repeats V N times)."""
    raw = s.raw("values")
    if isinstance(raw, str):
        raw = [None if word == "_" else word for word in raw.split()]
    elif not isinstance(raw, list):
        s.error("values", 'values must be a list of numbers or a string such as "0x10 1x5 _ 2"')
        return []
    out: list[float | None] = []
    for item in raw:
        if item is None or (isinstance(item, int | float) and not isinstance(item, bool)):
            out.append(None if item is None else float(item))
            continue
        match = _REPEAT.match(str(item))
        if match is None or isinstance(item, bool):
            s.error("values", f"value {item!r} must be a number, null (no reading) or VxN")
            continue
        out.extend([float(match.group(1))] * int(match.group(2) or 1))
    return out


def _expectations(s: Section, start: float) -> list[Expected]:
    items = s.sequence("expect", LocList())
    out = []
    for index, item in enumerate(items or []):
        if not isinstance(item, LocDict):
            s.problems.append(Problem(items.where(index), "each expected alert must be a mapping"))
            continue
        e = Section(item, s.problems, f"{s.path}.expect[{index}]")
        out.append(
            Expected(
                at=start + _offset(e, "at"),
                kind=e.text("kind", choices=KINDS) or "",
                rule=e.text("rule") or "",
                asset=str(e.raw("asset", "")),
                checks={k: e.raw(k) for k in OPTIONAL if e.has(k)},
            )
        )
        e.check_unknown(("at", "kind", "rule", "asset", *OPTIONAL))
    return out


# -- running -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    case: Case
    events: tuple[AlertEvent, ...]
    failures: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


def run_case(case: Case, rules: RuleSet, assets: AssetRegistry) -> Result:
    start = case.start
    engine = Engine(rules, assets, default_site=case.site)
    events = replay(engine, case.samples, start=start, until=case.until, tick=case.tick)
    return Result(case, tuple(events), tuple(_compare(case, events, start)))


def describe(ts: float, kind: str, rule: str, asset: str, start: float) -> str:
    return f"{format_duration(ts - start):>8} {kind:<9} {rule} {asset}".rstrip()


def _asset(event: AlertEvent) -> str:
    return event.asset.id if event.asset else ""


def _compare(case: Case, events: list[AlertEvent], start: float) -> list[str]:
    got = [describe(e.ts, e.kind, e.rule_id, _asset(e), start) for e in events]
    want = [describe(x.at, x.kind, x.rule, x.asset, start) for x in case.expect]
    if got != want:
        return [
            "events differ",
            "  expected:\n" + ("\n".join(f"    {w}" for w in want) or "    (none)"),
            "  got:\n" + ("\n".join(f"    {g}" for g in got) or "    (none)"),
        ]
    keys: dict[Any, str] = {}
    failures = []
    for x, e in zip(case.expect, events, strict=True):
        failures += _check(x, e, keys, describe(x.at, x.kind, x.rule, x.asset, start))
    return failures


def _check(x: Expected, e: AlertEvent, keys: dict[Any, str], label: str) -> list[str]:
    out = []
    c = x.checks
    if "priority" in c and str(c["priority"]).upper().removeprefix("P") != str(e.priority):
        out.append(f"{label}: priority P{e.priority}, expected {c['priority']}")
    for part in ("title", "body"):
        key = f"{part}_contains"
        if key not in c:
            continue  # the text is rendered only when a test asks about it
        text = e.title if part == "title" else e.body
        if str(c[key]) not in text:
            out.append(f"{label}: {part} {text!r} lacks {c[key]!r}")
    for flag in ("potentially_critical", "predictive"):
        if flag in c and bool(c[flag]) != getattr(e, flag):
            out.append(f"{label}: {flag} is {getattr(e, flag)}, expected {c[flag]}")
    if "incident" in c:
        first = keys.setdefault(c["incident"], e.incident_key)
        if first != e.incident_key:
            out.append(f"{label}: incident key {e.incident_key}, expected same as {first}")
    return out
