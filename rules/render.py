"""Turn an alert transition into an AlertEvent: priority, policy, templates rendered on use."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from types import MappingProxyType

from gatewatch.core.assets import Asset
from gatewatch.core.events import AlertEvent, EventKind, EventText, TicketPolicy
from gatewatch.rules.context import Context
from gatewatch.rules.language.durations import format_duration
from gatewatch.rules.language.load import DERIVED_METRICS
from gatewatch.rules.language.model import ClassPolicy, Kind, Rule
from gatewatch.rules.series import Series


def fmt_number(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a" if x is None or math.isnan(x) else str(x)
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def fmt_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_trend(per_min: float | None, unit: str | None) -> str:
    if per_min is None or not math.isfinite(per_min):
        return "n/a"
    if per_min == 0:
        return "steady"
    word = "rising" if per_min > 0 else "falling"
    return f"{word} {fmt_number(abs(per_min))} {unit or ''}/min".replace(" /", "/")


def _state(rule: Rule, value: float | None) -> str:
    """The name of the value in the rule's metric (closed, stuck), or "" if it has none."""
    if rule.states is None or value is None:
        return ""
    return rule.states.name(value) or ""


def fields(rule: Rule, ctx: Context, priority: int, since: float, ts: float) -> dict[str, str]:
    asset, loc = ctx.asset, ctx.asset.location if ctx.asset else None
    resp = asset.responsible if asset else None
    out = {
        "rule.id": rule.id,
        "rule.description": rule.description,
        "priority": str(priority),
        "site": ctx.site,
        "asset.id": asset.id if asset else ctx.asset_id,
        "asset.name": asset.name if asset else ctx.asset_id,
        "asset.class": asset.asset_class if asset else "",
        "asset.location": str(loc) if loc else "",
        "asset.building": loc.building if loc else "",
        "asset.floor": loc.floor if loc else "",
        "asset.room": loc.room if loc else "",
        "asset.responsible": resp.name if resp else "",
        "asset.contact": resp.contact if resp else "",
        "asset.checklist": asset.checklist_url if asset else "",
        "metric": ctx.metric or "",
        "value": fmt_number(ctx.value),
        "state": _state(rule, ctx.value),
        "unit": ctx.unit or "",
        "threshold": fmt_number(ctx.threshold),
        "since": fmt_time(since),
        "duration": format_duration(ts - since),
        "trend": fmt_trend(ctx.trend_per_min, ctx.unit),
        "count": str(ctx.count),
        "window": format_duration(rule.condition.within or rule.condition.window),
        "group": ctx.group,
        "related": ", ".join(ctx.related),
    }
    out.update({f"evidence.{k}": _evidence(v) for k, v in ctx.evidence.items()})
    return out


def _evidence(v: str | float) -> str:
    return v if isinstance(v, str) else fmt_number(v)


def effective(
    rule: Rule, asset: Asset | None, policies: Mapping[str, ClassPolicy]
) -> tuple[int, TicketPolicy]:
    """Rule priority and policy after the asset class floor (DESIGN.md incident 4)."""
    cls = policies.get(asset.asset_class) if asset else None
    if cls is None:
        return rule.priority, rule.policy
    applied: tuple[int, TicketPolicy] = cls.apply(rule.priority, rule.policy)
    return applied


_LABELS: Mapping[Kind, Mapping[str, str]] = {
    kind: MappingProxyType({"kind": str(kind)}) for kind in Kind
}  # one immutable mapping per condition kind, shared by every event


def render_text(
    rule: Rule, ctx: Context, priority: int, since: float, ts: float
) -> tuple[str, str]:
    """The rule's (title, body) for one event: pure, the same text whenever it runs."""
    values = fields(rule, ctx, priority, since, ts)
    return rule.title.render(values), rule.body.render(values)


def build_event(
    rule: Rule,
    kind: EventKind,
    *,
    key: str,
    ts: float,
    since: float,
    priority: int,
    policy: TicketPolicy,
    ctx: Context,
) -> AlertEvent:
    """The event; its title and body are rendered when first read (a backtest never does)."""
    text = EventText(partial(render_text, rule, ctx, priority, since, ts))
    facts = (ctx.site, ctx.asset, ctx.metric, ctx.value, ctx.threshold, ctx.unit)
    return _event(
        rule,
        kind,
        key=key,
        ts=ts,
        since=since,
        priority=priority,
        policy=policy,
        text=text,
        facts=facts,
        trend=ctx.trend_per_min,
        related=ctx.related,
    )


def series_event(
    rule: Rule,
    kind: EventKind,
    ts: float,
    *,
    key: str,
    since: float,
    priority: int,
    policy: TicketPolicy,
    series: Series,
    measures: tuple[float | None, float | None, float | None],
) -> AlertEvent:
    """``build_event`` for a rule on one series without a Context (one is made only to
    render): the same event as with ``Binding.context()``, cheaper (tests hold them equal).
    ``measures``: (value, threshold, trend per minute) as ``Binding.measures`` gives them."""
    s, (value, threshold, trend) = series, measures
    site, asset, metric, unit = s.site, s.asset, s.metric, s.unit
    facts = (site, asset, s.asset_id, metric, value, unit, threshold, trend, s.evidence)
    text = EventText(partial(_render_series, rule, facts, priority, since, ts))
    shown = (site, asset, metric, value, threshold, unit)
    return _event(
        rule,
        kind,
        key=key,
        ts=ts,
        since=since,
        priority=priority,
        policy=policy,
        text=text,
        facts=shown,
        trend=trend,
        related=(),
    )


EventFacts = tuple[str, Asset | None, str | None, float | None, float | None, str | None]


def _event(
    rule: Rule,
    kind: EventKind,
    *,
    key: str,
    ts: float,
    since: float,
    priority: int,
    policy: TicketPolicy,
    text: EventText,
    facts: EventFacts,
    trend: float | None,
    related: tuple[str, ...],
) -> AlertEvent:
    """The AlertEvent of both builders; ``facts``: (site, asset, metric, value, threshold,
    unit) as the ticket shows them."""
    site, asset, metric, value, threshold, unit = facts
    cond_kind = rule.condition.kind
    return AlertEvent(
        kind=kind,
        incident_key=key,
        rule_id=rule.id,
        priority=priority,
        text=text,
        ts=ts,
        since=since,
        asset=asset,
        site=site,
        metric=metric,
        value=value,
        threshold=threshold,
        unit=unit,
        trend_per_min=trend,
        potentially_critical=cond_kind == Kind.REPEATED,
        predictive=(metric or "").rsplit(":", 1)[-1] in DERIVED_METRICS,
        related=related,
        labels=_LABELS[cond_kind],
        policy=policy,
    )


SeriesFacts = tuple[
    str, Asset | None, str, str, float | None, str | None, float | None, float | None,
    Mapping[str, str | float],
]  # fmt: skip


def _render_series(
    rule: Rule, facts: SeriesFacts, priority: int, since: float, ts: float
) -> tuple[str, str]:
    site, asset, asset_id, metric, value, unit, threshold, trend, evidence = facts
    ctx = Context(site, asset, asset_id, metric, value, unit, threshold, trend, evidence=evidence)
    return render_text(rule, ctx, priority, since, ts)
