"""Rule files (YAML, for building engineers) -> RuleSet, every problem as file:line:col.

Pure: takes file names and texts, never reads the disk. All problems of all
files are collected and raised together as one ConfigError.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable, Mapping
from operator import attrgetter
from types import MappingProxyType
from typing import Any

from gatewatch.core.assets import KNOWN_CLASSES, AssetRegistry
from gatewatch.core.events import Escalation, TicketPolicy
from gatewatch.core.signals import ANOMALY_SCORE, DAYS_TO_ZONE_C, DAYS_TO_ZONE_D
from gatewatch.core.states import StateNames
from gatewatch.core.yamlsource import (
    ConfigError,
    Location,
    LocDict,
    LocList,
    Problem,
    Section,
    parse_yaml,
)
from gatewatch.rules.language.durations import DurationError, parse_duration
from gatewatch.rules.language.expr import ExprError, Expression, Getter, compile_expression
from gatewatch.rules.language.model import (
    DEFAULT_CLASS_POLICIES,
    DEFAULT_WINDOW,
    GROUP_FIELDS,
    SERIES_KINDS,
    Band,
    ClassPolicy,
    Condition,
    Kind,
    Rule,
    RuleSet,
    Selector,
)
from gatewatch.rules.language.silence import parse_schedule
from gatewatch.rules.language.template import Template, TemplateError, parse_template

EXPR_NAMES = ("value", "prev", "delta", "rate")
DERIVED_METRICS = (ANOMALY_SCORE, DAYS_TO_ZONE_C, DAYS_TO_ZONE_D)
_ID = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_KIND_KEYS: dict[str, Kind] = {
    "above": Kind.THRESHOLD,
    "below": Kind.THRESHOLD,
    "outside": Kind.THRESHOLD,
    "expr": Kind.STATE,
    "rate_above": Kind.RATE,
    "rate_below": Kind.RATE,
    "no_data_for": Kind.STALE,
    "site_silent_for": Kind.SITE_SILENT,
    "repeated": Kind.REPEATED,
    "all": Kind.COMPOSITE,
    "any": Kind.COMPOSITE,
}
_WHEN_KEYS = {
    Kind.THRESHOLD: ("above", "below", "outside", "clear", "window"),
    Kind.STATE: ("expr", "clear_when", "window"),
    Kind.RATE: ("rate_above", "rate_below", "clear", "window"),
    Kind.STALE: ("no_data_for",),
    Kind.SITE_SILENT: ("site_silent_for",),
    Kind.REPEATED: ("repeated", "times", "within", "group_by"),
    Kind.COMPOSITE: ("all", "any", "within", "group_by"),
}
RULE_KEYS = (
    "id",
    "description",
    "select",
    "when",
    "priority",
    "for",
    "clear_for",
    "keep_firing_for",
    "ticket",
    "active",
)
DEFAULT_TITLE = "[P{priority}] {rule.description}: {asset.name} ({asset.location})"
DEFAULT_BODY = (
    "{rule.description}\n"
    "Asset: {asset.name} ({asset.id}, {asset.class})\n"
    "Where: {asset.location}\n"
    "Metric: {metric} = {value} {unit} (limit {threshold}), trend {trend}\n"
    "Since: {since} ({duration})\n"
    "Responsible: {asset.responsible} {asset.contact}\n"
    "Checklist: {asset.checklist}\n"
)


def load_rules(files: Iterable[tuple[str, str]], assets: AssetRegistry | None = None) -> RuleSet:
    """Parse every (file name, text); raise ConfigError listing every problem of every file."""
    problems: list[Problem] = []
    rules: list[Rule] = []
    policies = dict(DEFAULT_CLASS_POLICIES)
    names = []
    for file, text in files:
        names.append(file)
        ctx = _Context(assets or AssetRegistry.empty(), problems)
        try:
            doc = parse_yaml(text, file)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        rules.extend(ctx.file(doc, file, policies))
    _check_references(rules, problems)
    if problems:
        order = {name: i for i, name in enumerate(names)}
        loc = lambda p: (order.get(p.location.file, len(order)), p.location.line, p.location.column)  # noqa: E731
        raise ConfigError(sorted(problems, key=loc))
    return RuleSet(tuple(rules), MappingProxyType(policies), tuple(names))


class _Context:
    def __init__(self, assets: AssetRegistry, problems: list[Problem]) -> None:
        self.assets = assets
        self.problems = problems
        self.classes = set(KNOWN_CLASSES) | {a.asset_class for a in assets.assets.values()}
        self.rule_states: StateNames | None = None  # of the rule being read

    def file(self, doc: Any, file: str, policies: dict[str, ClassPolicy]) -> list[Rule]:
        if doc is None:
            return []
        root = Section.root(doc, file, self.problems)
        items = root.sequence("rules", LocList())
        if root.has("asset_classes"):
            self.class_policies(root.section("asset_classes"), policies)
        root.check_unknown(("rules", "asset_classes"))
        out = []
        for index, item in enumerate(items or []):
            if not isinstance(item, LocDict):
                self.problems.append(Problem(items.where(index), "each rule must be a mapping"))
                continue
            rule = self.rule(Section(item, self.problems, f"rules[{index}]"))
            if rule is not None:
                out.append(rule)
        return out

    def class_policies(self, s: Section, policies: dict[str, ClassPolicy]) -> None:
        for name, _body in s.items():
            if name not in self.classes:
                s.error(name, f"unknown asset class {name!r}{_hint(name, self.classes)}")
                continue
            c = s.section(name)
            base = policies.get(name, ClassPolicy())
            floor = _priority(c, "min_priority", base.min_priority)
            after = _duration(c, "escalate_after", base.escalate_after)
            c.check_unknown()
            policies[name] = ClassPolicy(min(floor, base.min_priority), after)

    def rule(self, s: Section) -> Rule | None:
        rule_id = s.text("id", None)
        if rule_id is None:
            s.error(None, "missing required key 'id' (a stable name such as lift-rope-break)")
        elif not _ID.fullmatch(rule_id):
            s.error("id", f"rule id {rule_id!r} must be lower case letters, digits, '-', '_', '.'")
        if rule_id:
            s.path = f"rule {rule_id}"
        self.rule_states = self.states_of(s.mapping.get("select"))
        when = s.section("when", required=True)
        condition = self.condition(when)
        selector = self.selector(s.section("select"), condition)
        notify, title, body, policy = self.ticket(s)
        rule = Rule(
            id=rule_id or "",
            description=s.text("description", rule_id or ""),
            selector=selector,
            condition=condition or Condition(Kind.THRESHOLD),
            priority=_priority(s, "priority", 3),
            title=title,
            body=body,
            policy=policy,
            for_=_duration(s, "for", 0.0),
            clear_for=_duration(s, "clear_for", 0.0),
            keep_firing_for=_duration(s, "keep_firing_for", 0.0),
            notify=notify,
            schedule=parse_schedule(s.section("active"), rule_id or "")
            if s.has("active")
            else None,
            location=s.loc,
            states=self.rule_states,
        )
        s.check_unknown(RULE_KEYS)
        return rule if rule_id and condition else None

    def states_of(self, select: Any) -> StateNames | None:
        """The state names of the rule's metric (the first selected one that has some)."""
        metrics = select.get("metric") if isinstance(select, dict) else None
        for metric in [metrics] if isinstance(metrics, str) else metrics or []:
            names = self.assets.states.for_metric(str(metric))
            if names is not None:
                return names
        return None

    # -- select ----------------------------------------------------------------

    def selector(self, s: Section, condition: Condition | None) -> Selector:
        sel = Selector(
            sites=frozenset(_strings(s, "site")),
            assets=frozenset(self.known(s, "asset", set(self.assets.assets), "asset id")),
            classes=frozenset(self.known(s, "class", self.classes, "asset class")),
            buildings=frozenset(_strings(s, "building")),
            floors=frozenset(_strings(s, "floor")),
            rooms=frozenset(_strings(s, "room")),
            metrics=tuple(_strings(s, "metric")),
        )
        s.check_unknown(("site", "asset", "class", "building", "floor", "room", "metric"))
        if condition is not None and condition.kind in SERIES_KINDS:
            self.check_metrics(s, sel, condition.kind)
        return sel

    def known(self, s: Section, key: str, known: set[str], what: str) -> list[str]:
        values = _strings(s, key)
        if known and (key != "asset" or self.assets.assets):
            for value in values:
                if value not in known:
                    s.error(key, f"unknown {what} {value!r}{_hint(value, known)}")
        return values

    def check_metrics(self, s: Section, sel: Selector, kind: Kind) -> None:
        if not sel.metrics and kind != Kind.STALE:
            s.error(None, f"select.metric is required for a {kind} rule (e.g. metric: temperature)")
            return
        if not self.assets.assets:
            return
        candidates = [
            a
            for a in self.assets.assets.values()
            if (not sel.assets or a.id in sel.assets) and sel.matches_asset(a)
        ]
        if not candidates:
            s.error(None, "select matches no asset of the asset registry; check asset/class/floor")
            return
        metrics = {m for a in candidates for m in a.metrics}
        for pattern in sel.metrics:
            if not _metric_known(pattern, metrics):
                s.error(
                    "metric", f"no selected asset has metric {pattern!r}{_hint(pattern, metrics)}"
                )

    # -- when ------------------------------------------------------------------

    def condition(self, s: Section) -> Condition | None:
        kinds = {k: _KIND_KEYS[k] for k in s.mapping if k in _KIND_KEYS}
        if len(set(kinds.values())) != 1 or (set(kinds) == {"all", "any"}):
            self.kind_problem(s, kinds)
            s.check_unknown(tuple(_KIND_KEYS) + tuple(k for ks in _WHEN_KEYS.values() for k in ks))
            return None
        kind = next(iter(kinds.values()))
        parse = {
            Kind.THRESHOLD: self.threshold,
            Kind.STATE: self.state,
            Kind.RATE: self.rate,
            Kind.STALE: self.silence,
            Kind.SITE_SILENT: self.silence,
            Kind.REPEATED: self.repeated,
            Kind.COMPOSITE: self.composite,
        }[kind]
        condition = parse(s, kind)
        s.check_unknown(_WHEN_KEYS[kind])
        return condition

    def kind_problem(self, s: Section, kinds: Mapping[str, Kind]) -> None:
        if not kinds:
            s.error(None, "when: needs a condition: one of " + ", ".join(_KIND_KEYS))
        else:
            keys = ", ".join(kinds)
            s.error(
                next(iter(kinds)),
                f"when: mixes {keys}; a rule has one condition "
                "(combine rules with all:/any: instead)",
            )

    def threshold(self, s: Section, kind: Kind) -> Condition:
        band = _band(s, "above", "below", "outside")
        return Condition(
            kind, band=band, window=_duration(s, "window", DEFAULT_WINDOW, positive=True)
        )

    def rate(self, s: Section, kind: Kind) -> Condition:
        band = _band(s, "rate_above", "rate_below", None)
        return Condition(
            kind, band=band, window=_duration(s, "window", DEFAULT_WINDOW, positive=True)
        )

    def state(self, s: Section, kind: Kind) -> Condition:
        window = _duration(s, "window", DEFAULT_WINDOW, positive=True)
        names = series_names(window)
        return Condition(
            kind,
            expr=_expression(s, "expr", names, self.rule_states),
            clear_expr=_expression(s, "clear_when", names, self.rule_states)
            if s.has("clear_when")
            else None,
            window=window,
        )

    def silence(self, s: Section, kind: Kind) -> Condition:
        key = "no_data_for" if kind == Kind.STALE else "site_silent_for"
        return Condition(kind, silent_for=_duration(s, key, 0.0, positive=True))

    def repeated(self, s: Section, kind: Kind) -> Condition:
        ref = s.text("repeated")
        return Condition(
            kind,
            refs=(ref,) if isinstance(ref, str) else (),
            times=s.integer("times", 3, min=2),
            within=_duration(s, "within", 3600.0, positive=True),
            group_by=_group_by(s, ("building", "floor")),
        )

    def composite(self, s: Section, kind: Kind) -> Condition:
        key = "all" if s.has("all") else "any"
        refs = _strings(s, key)
        if not refs:
            s.error(key, f"{key}: must list at least one rule id")
        return Condition(
            kind,
            refs=tuple(refs),
            need_all=key == "all",
            within=_duration(s, "within", 0.0),
            group_by=_group_by(s, ("asset",)),
        )

    # -- ticket ----------------------------------------------------------------

    def ticket(self, s: Section) -> tuple[bool, Template, Template, TicketPolicy]:
        if s.raw("ticket") is False:
            return (
                False,
                parse_template(DEFAULT_TITLE),
                parse_template(DEFAULT_BODY),
                TicketPolicy(),
            )
        t = s.section("ticket")
        title = _template(t, "title", DEFAULT_TITLE)
        body = _template(t, "body", DEFAULT_BODY)
        policy = TicketPolicy(
            update_interval=_duration(t, "update_every", None, positive=True),
            escalations=_escalations(t),
            resolve_on_clear=t.flag("resolve_on_clear", True),
            reopen_window=_duration(t, "reopen_window", 86_400.0),
            escalate_after_reopens=t.integer("escalate_after_reopens", 2, min=1),
        )
        t.check_unknown()
        return True, title, body, policy


# -- small checked readers ---------------------------------------------------------


def _hint(value: str, known: Iterable[str]) -> str:
    match = difflib.get_close_matches(value, sorted(known), n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def _metric_known(pattern: str, metrics: set[str]) -> bool:
    if any(fnmatch.fnmatchcase(m, pattern) for m in metrics):
        return True
    return pattern.rsplit(":", 1)[-1] in DERIVED_METRICS


def _strings(s: Section, key: str) -> list[str]:
    raw = s.raw(key)
    if raw is None:
        return []
    items = raw if isinstance(raw, LocList) else [raw]
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            s.error(key, f"{s.path}.{key} must be a name or a list of names")
            return []
        out.append(str(item))
    return out


def _priority(s: Section, key: str, default: int) -> int:
    raw = s.raw(key, default)
    text = str(raw).upper().removeprefix("P")
    if isinstance(raw, bool) or text not in ("1", "2", "3", "4"):
        s.error(
            key, f"{s.path}.{key} must be P1, P2, P3 or P4 (P1 is the most urgent), got {raw!r}"
        )
        return default
    return int(text)


def _duration(s: Section, key: str, default: Any, *, positive: bool = False) -> Any:
    raw = s.raw(key)
    if raw is None:
        return default
    try:
        seconds = parse_duration(raw)
    except DurationError as exc:
        s.error(key, f"{s.path}.{key}: {exc}")
        return default
    if positive and seconds <= 0:
        s.error(key, f"{s.path}.{key} must be longer than 0s")
        return default
    return seconds


def _group_by(s: Section, default: tuple[str, ...]) -> tuple[str, ...]:
    fields = _strings(s, "group_by") if s.has("group_by") else list(default)
    for f in fields:
        if f not in GROUP_FIELDS:
            s.error("group_by", f"cannot group by {f!r}; use any of {', '.join(GROUP_FIELDS)}")
    return tuple(fields)


def series_names(window: float) -> dict[str, Getter]:
    """What an expression may read: the series' value, prev, delta and rate per minute."""
    return {
        "value": attrgetter("value"),
        "prev": attrgetter("prev"),
        "delta": lambda s: s.value - s.prev,
        "rate": lambda s: s.rate(window),
    }


def _expression(
    s: Section, key: str, names: dict[str, Getter], states: StateNames | None = None
) -> Expression | None:
    text = s.text(key)
    if not isinstance(text, str):
        return None
    try:
        return compile_expression(text, names, states)
    except ExprError as exc:
        s.problems.append(Problem(_offset(s, key, exc.offset), f"{s.path}.{key}: {exc}"))
        return None


def _template(s: Section, key: str, default: str) -> Template:
    text = s.text(key, default)
    try:
        return parse_template(text if isinstance(text, str) else default)
    except TemplateError as exc:
        s.problems.append(Problem(_offset(s, key, exc.offset), f"{s.path}.{key}: {exc}"))
        return parse_template(default)


def _offset(s: Section, key: str, offset: int) -> Location:
    """The location of character ``offset`` of a one-line scalar (best effort)."""
    loc = s.mapping.where(key)
    value = s.mapping.get(key)
    if isinstance(value, str) and "\n" not in value:
        return Location(loc.file, loc.line, loc.column + offset)
    return loc


def _number_pair(s: Section, key: str) -> tuple[float, float] | None:
    raw = s.raw(key)
    ok = isinstance(raw, LocList) and len(raw) == 2
    ok = ok and all(isinstance(x, int | float) and not isinstance(x, bool) for x in raw)
    if not ok:
        s.error(key, f"{s.path}.{key} must be [low, high], e.g. [18, 27]")
        return None
    low, high = float(raw[0]), float(raw[1])
    if low >= high:
        s.error(key, f"{s.path}.{key}: low ({raw[0]}) must be below high ({raw[1]})")
        return None
    return low, high


def _band(s: Section, above_key: str, below_key: str, outside_key: str | None) -> Band | None:
    if outside_key is not None and s.has(outside_key):
        return _outside_band(s, outside_key)
    above = s.number(above_key, None)
    below = s.number(below_key, None)
    if above is not None and below is not None:
        s.error(
            below_key,
            f"use {outside_key or 'two rules'} instead of both {above_key} and {below_key}",
        )
        return None
    clear = s.number("clear", None)
    if above is not None:
        level = above if clear is None else clear
        if level > above:
            s.error(
                "clear",
                f"clear ({clear}) must be at or below {above_key} ({above}) "
                "so the alert can clear (hysteresis: clear at a lower value)",
            )
        return Band(above=above, clear_above=level)
    if below is not None:
        level = below if clear is None else clear
        if level < below:
            s.error(
                "clear",
                f"clear ({clear}) must be at or above {below_key} ({below}) "
                "so the alert can clear (hysteresis: clear at a higher value)",
            )
        return Band(below=below, clear_below=level)
    return None


def _outside_band(s: Section, key: str) -> Band | None:
    pair = _number_pair(s, key)
    if pair is None:
        return None
    low, high = pair
    clear = _number_pair(s, "clear") if s.has("clear") else pair
    if clear is None:
        return None
    if not (low <= clear[0] <= clear[1] <= high):
        s.error(
            "clear",
            f"clear band {list(clear)} must lie inside {key} {list(pair)} so the alert can clear",
        )
    return Band(above=high, below=low, clear_above=clear[1], clear_below=clear[0])


def _escalations(t: Section) -> tuple[Escalation, ...]:
    raw = t.sequence("escalate", LocList())
    out = []
    for index, item in enumerate(raw or []):
        if not isinstance(item, LocDict):
            t.problems.append(Problem(raw.where(index), "each escalation must be a mapping"))
            continue
        e = Section(item, t.problems, f"{t.path}.escalate[{index}]")
        after = _duration(e, "after", None, positive=True)
        if after is None and not e.has("after"):
            e.error(None, "an escalation needs after: (e.g. after: 7m without acknowledgement)")
        out.append(
            Escalation(
                after=after or 0.0,
                raise_priority_to=_priority(e, "priority", 1) if e.has("priority") else None,
                queue=e.text("queue", None),
                comment=e.text("comment", ""),
            )
        )
        e.check_unknown()
    return tuple(sorted(out, key=lambda x: x.after))


def _check_references(rules: list[Rule], problems: list[Problem]) -> None:
    by_id: dict[str, Rule] = {}
    for rule in rules:
        first = by_id.get(rule.id)
        if first is not None:
            problems.append(
                Problem(
                    rule.location,
                    f"duplicate rule id {rule.id!r} (first at {first.location}); "
                    "ids must be unique",
                )
            )
        by_id.setdefault(rule.id, rule)
    for rule in rules:
        for ref in rule.condition.refs:
            target = by_id.get(ref)
            if target is None:
                problems.append(
                    Problem(
                        rule.location,
                        f"rule {rule.id}: refers to unknown rule {ref!r}"
                        + (_hint(ref, by_id) or "; define it or fix the id"),
                    )
                )
            elif target.condition.kind not in SERIES_KINDS:
                problems.append(
                    Problem(
                        rule.location,
                        f"rule {rule.id}: may only refer to threshold, state, rate or "
                        f"stale rules, not {ref!r} ({target.condition.kind})",
                    )
                )
