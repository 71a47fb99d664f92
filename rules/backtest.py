"""What a set of rules would have done over a stretch of history (pure).

Counts per rule: alerts (FIRED), tickets that would have been opened (a
FIRED of an incident resolved less than the policy's reopen window ago
reopens the old ticket instead), updates, escalations and time in firing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gatewatch.core.assets import AssetRegistry
from gatewatch.core.events import AlertEvent, EventKind
from gatewatch.rules.engine import Engine
from gatewatch.rules.language.model import RuleSet
from gatewatch.rules.replay import History, replay_history


@dataclass(slots=True)
class RuleStats:
    alerts: int = 0
    tickets: int = 0
    reopens: int = 0
    updates: int = 0
    escalations: int = 0
    firing_seconds: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "alerts": self.alerts,
            "tickets": self.tickets,
            "reopens": self.reopens,
            "updates": self.updates,
            "escalations": self.escalations,
            "firing_seconds": round(self.firing_seconds, 3),
        }


@dataclass(slots=True)
class Summary:
    start: float
    end: float
    readings: int = 0
    rules: dict[str, RuleStats] = field(default_factory=dict)

    @property
    def tickets(self) -> int:
        return sum(s.tickets for s in self.rules.values())

    @property
    def alerts(self) -> int:
        return sum(s.alerts for s in self.rules.values())


def summarize(
    events: Iterable[AlertEvent], start: float, end: float, rule_ids: Iterable[str] = ()
) -> Summary:
    summary = Summary(start, end, rules={rule_id: RuleStats() for rule_id in rule_ids})
    firing: dict[str, float] = {}
    resolved: dict[str, float] = {}
    for e in events:
        stats = summary.rules.setdefault(e.rule_id, RuleStats())
        if e.kind == EventKind.FIRED:
            _fired(stats, e, resolved)
            firing[e.incident_key] = e.ts
        elif e.kind == EventKind.RESOLVED:
            stats.firing_seconds += e.ts - firing.pop(e.incident_key, e.ts)
            resolved[e.incident_key] = e.ts
        elif e.kind == EventKind.UPDATED:
            stats.updates += 1
        else:
            stats.escalations += 1
    for key, since in firing.items():
        summary.rules[key.split(":", 1)[0]].firing_seconds += max(0.0, end - since)
    return summary


def _fired(stats: RuleStats, e: AlertEvent, resolved: dict[str, float]) -> None:
    stats.alerts += 1
    last = resolved.get(e.incident_key)
    if last is not None and e.ts - last <= e.policy.reopen_window:
        stats.reopens += 1
    else:
        stats.tickets += 1


def backtest(
    rules: RuleSet,
    assets: AssetRegistry,
    history: History,
    *,
    start: float,
    end: float,
    site: str = "",
    tick: float = 10.0,
    on_tick: Callable[[float], None] | None = None,
) -> tuple[Summary, list[AlertEvent]]:
    """Replay stored history through a fresh engine."""
    engine = Engine(rules, assets, default_site=site)
    events = replay_history(engine, history, start=start, until=end, tick=tick, on_tick=on_tick)
    ids = [r.id for r in rules.rules if r.notify]
    summary = summarize(events, start, end, ids)
    summary.readings = engine.stats["readings"]
    return summary, events
