"""Typed rules, as parsed from config/rules/*.yaml (see rules/language/load.py)."""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from gatewatch.core.assets import Asset
from gatewatch.core.events import Escalation, TicketPolicy
from gatewatch.core.states import StateNames
from gatewatch.core.yamlsource import Location
from gatewatch.rules.language.expr import Expression
from gatewatch.rules.language.silence import Window
from gatewatch.rules.language.template import Template

# verdicts: condition met / in the hysteresis band / cleared (Final: compiled code inlines them)
ALARM: Final = 1
HOLD: Final = 0
CLEAR: Final = -1
DEFAULT_WINDOW = 300.0  # seconds of history for rate and trend


class Kind(StrEnum):
    THRESHOLD = "threshold"
    STATE = "state"
    RATE = "rate"
    STALE = "stale"
    SITE_SILENT = "site_silent"
    REPEATED = "repeated"
    COMPOSITE = "composite"


SERIES_KINDS = (Kind.THRESHOLD, Kind.STATE, Kind.RATE, Kind.STALE)
HISTORY_KINDS = (Kind.THRESHOLD, Kind.STATE, Kind.RATE)  # read ``window`` of history
GROUP_FIELDS = ("site", "asset", "class", "building", "floor", "room")


@dataclass(frozen=True, slots=True)
class Selector:
    sites: frozenset[str] = frozenset()
    assets: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    buildings: frozenset[str] = frozenset()
    floors: frozenset[str] = frozenset()
    rooms: frozenset[str] = frozenset()
    metrics: tuple[str, ...] = ()  # names or shell patterns (``vibration.*``)

    def matches(self, site: str, asset_id: str, asset: Asset | None, metric: str | None) -> bool:
        """Does the series match? ``metric=None``: the caller already matched the metric."""
        if (self.sites and site not in self.sites) or (self.assets and asset_id not in self.assets):
            return False
        located = self.classes or self.buildings or self.floors or self.rooms
        if located and (asset is None or not self.matches_asset(asset)):
            return False
        return (
            metric is None
            or not self.metrics
            or any(fnmatch.fnmatchcase(metric, m) for m in self.metrics)
        )

    def matches_asset(self, asset: Asset) -> bool:
        loc = asset.location
        return (
            (not self.classes or asset.asset_class in self.classes)
            and (not self.buildings or loc.building in self.buildings)
            and (not self.floors or loc.floor in self.floors)
            and (not self.rooms or loc.room in self.rooms)
        )


@dataclass(frozen=True, slots=True)
class Band:
    """Alarm when above ``above`` or below ``below``; clear at ``clear_*`` (hysteresis)."""

    above: float = math.inf
    below: float = -math.inf
    clear_above: float = math.inf  # cleared once the value is at or below this
    clear_below: float = -math.inf  # cleared once the value is at or above this

    def judge(self, value: float) -> int:
        if value > self.above or value < self.below:
            return ALARM
        if value <= self.clear_above and value >= self.clear_below:
            return CLEAR
        return HOLD

    def threshold(self, value: float) -> float | None:
        """The limit the value crossed (or is nearest to), for the ticket."""
        if math.isinf(self.below) or (not math.isinf(self.above) and value >= self.above):
            return None if math.isinf(self.above) else self.above
        return self.below


@dataclass(frozen=True, slots=True)
class Condition:
    kind: Kind
    band: Band | None = None  # threshold (on the value) and rate (on the rate per minute)
    expr: Expression | None = None  # state
    clear_expr: Expression | None = None
    window: float = DEFAULT_WINDOW  # history used for rate and trend
    silent_for: float = 0.0  # stale / site_silent
    refs: tuple[str, ...] = ()  # repeated (one) / composite (several) rule ids
    need_all: bool = True  # composite: all (True) or any (False)
    times: int = 0  # repeated
    within: float = 0.0  # repeated / composite
    group_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    description: str
    selector: Selector
    condition: Condition
    priority: int
    title: Template
    body: Template
    policy: TicketPolicy
    for_: float = 0.0
    clear_for: float = 0.0
    keep_firing_for: float = 0.0
    notify: bool = True  # false: a building block for repeated/composite rules, no ticket
    schedule: Window | None = None  # notify only inside this window (working hours, ...)
    location: Location = field(default=Location("<rules>", 1, 1), compare=False)
    states: StateNames | None = None  # the metric's state names: {state} in tickets


@dataclass(frozen=True, slots=True)
class ClassPolicy:
    """Per asset class: priority floor and automatic escalation (DESIGN.md incident 4)."""

    min_priority: int = 4
    escalate_after: float | None = None  # when the rule itself has no escalation

    def apply(self, priority: int, policy: TicketPolicy) -> tuple[int, TicketPolicy]:
        priority = min(priority, self.min_priority)
        if self.escalate_after is None or policy.escalations:
            return priority, policy
        escalation = Escalation(
            after=self.escalate_after,
            raise_priority_to=1,
            comment="not acknowledged in time: escalated by the asset class policy",
        )
        return priority, _with_escalations(policy, (escalation,))


def _with_escalations(policy: TicketPolicy, escalations: tuple[Escalation, ...]) -> TicketPolicy:
    return TicketPolicy(
        update_interval=policy.update_interval,
        escalations=escalations,
        resolve_on_clear=policy.resolve_on_clear,
        reopen_window=policy.reopen_window,
        escalate_after_reopens=policy.escalate_after_reopens,
    )


DEFAULT_CLASS_POLICIES: Mapping[str, ClassPolicy] = MappingProxyType(
    {
        "fire_panel": ClassPolicy(min_priority=2, escalate_after=300.0),
        "lift": ClassPolicy(min_priority=2, escalate_after=300.0),
        "server_room": ClassPolicy(min_priority=2, escalate_after=300.0),
    }
)


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    class_policies: Mapping[str, ClassPolicy] = field(
        default_factory=lambda: DEFAULT_CLASS_POLICIES
    )
    sources: tuple[str, ...] = ()

    def get(self, rule_id: str) -> Rule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None
