"""What the service desk reads: titles, bodies and comments, from AlertEvents.

Pure functions; times are rendered in UTC so every desk reads the same thing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gatewatch.core.assets import Asset
from gatewatch.core.events import AlertEvent, TicketPolicy


def clock_text(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min"


def where(event: AlertEvent) -> str:
    if event.asset is None:
        return event.site or "unknown location"
    location = str(event.asset.location)
    return f"{event.asset.name} ({location})" if location else event.asset.name


def title(event: AlertEvent) -> str:
    marked = event.potentially_critical and "POTENTIALLY CRITICAL" not in event.title.upper()
    mark = "POTENTIALLY CRITICAL: " if marked else ""
    text = event.title
    place = where(event)
    suffix = f" — {place}" if place and place not in text else ""  # the rule may name it
    return f"[P{event.priority}] {mark}{text}{suffix}"


def value_text(event: AlertEvent) -> str:
    if event.value is None:
        return ""
    unit = f" {event.unit}" if event.unit else ""
    text = f"{event.value:g}{unit}"
    if event.threshold is not None:
        text += f" (threshold {event.threshold:g}{unit})"
    return text


def trend_text(event: AlertEvent) -> str:
    rate = event.trend_per_min
    if rate is None:
        return ""
    unit = f" {event.unit}" if event.unit else ""
    if abs(rate) < 1e-9:
        return "steady"
    direction = "rising" if rate > 0 else "falling"
    return f"{direction} {abs(rate):g}{unit}/min"


def asset_card(asset: Asset | None) -> list[str]:
    if asset is None:
        return ["Asset: not in the asset registry"]
    loc = asset.location
    lines = [
        f"Asset: {asset.name} [{asset.id}, class {asset.asset_class}]",
        f"Building: {loc.building or '-'} / Floor: {loc.floor or '-'} / Room: {loc.room or '-'}",
    ]
    r = asset.responsible
    if r is not None:
        who = "own technician" if r.kind == "own" else "contractor"
        lines.append(
            f"Responsible: {r.name} ({who}){f', contact {r.contact}' if r.contact else ''}"
        )
    else:
        lines.append("Responsible: not set in the asset registry")
    lines.append(f"Maintenance checklist: {asset.checklist_url or 'not set'}")
    return lines


def next_update(policy: TicketPolicy, ts: float) -> str:
    if policy.update_interval is None:
        return "Next update: when the condition clears (no periodic updates for this rule)"
    at = clock_text(ts + policy.update_interval)
    return f"Next update: by {at} (every {minutes(policy.update_interval)} while firing)"


def measurements(event: AlertEvent) -> list[str]:
    lines = []
    if value := value_text(event):
        metric = f"{event.metric}: " if event.metric else ""
        lines.append(f"Current value: {metric}{value}")
    if trend := trend_text(event):
        lines.append(f"Trend: {trend}")
    return lines


def occurrences(related: tuple[str, ...], tickets: dict[str, str]) -> list[str]:
    if not related:
        return []
    lines = [f"Repeated {len(related)} times; occurrences:"]
    for key in related:
        ticket = tickets.get(key)
        lines.append(f"  - {key}" + (f" (ticket {ticket})" if ticket else ""))
    return lines


def body(event: AlertEvent, tickets: dict[str, str] | None = None) -> str:
    lines = [f"What: {event.body or event.title}"]
    if event.potentially_critical:
        lines.append("POTENTIALLY CRITICAL: this fault repeats; repetition is a signal.")
    lines += [f"Where: {where(event)}", *asset_card(event.asset)]
    lines.append(f"Since: {clock_text(event.since)}")
    lines += measurements(event)
    lines += occurrences(event.related, tickets or {})
    lines.append(f"Priority: P{event.priority} (rule {event.rule_id})")
    lines.append(next_update(event.policy, event.ts))
    lines.append(f"Incident key: {event.incident_key}")
    return "\n".join(lines)


def update_text(event: AlertEvent) -> str:
    now = value_text(event)
    trend = trend_text(event)
    head = "Still firing" + (f": {now}" if now else "") + (f", {trend}" if trend else "")
    return "\n".join(
        [
            f"{head}.",
            f"Firing since {clock_text(event.since)}.",
            next_update(event.policy, event.ts),
        ]
    )


def recovery_text(event: AlertEvent, *, close: bool) -> str:
    now = value_text(event)
    back = f"Back in range at {clock_text(event.ts)}" + (f": {now}" if now else "") + "."
    lasted = f"The condition lasted {minutes(max(0.0, event.ts - event.since))}."
    tail = (
        "Resolving the ticket (rule policy)."
        if close
        else "Leaving the ticket open for a technician to confirm (rule policy)."
    )
    return "\n".join([back, lasted, tail])


def reopen_text(event: AlertEvent, count: int, *, escalate: bool) -> str:
    lines = [
        f"The fault came back at {clock_text(event.ts)} (reopen #{count} of this incident).",
        *measurements(event),
        next_update(event.policy, event.ts),
    ]
    if escalate:
        lines.append(f"Escalated: the fault returned {count} times after being resolved.")
    return "\n".join(lines)


def escalation_text(
    level: int, after: float, note: str, priority: int | None, queue: str | None
) -> str:
    done = []
    if priority is not None:
        done.append(f"priority raised to P{priority}")
    if queue:
        done.append(f"moved to {queue}")
    what = "; ".join(done) or "comment only"
    head = f"SLA escalation level {level}: not acknowledged within {minutes(after)} ({what})."
    return head + (f"\n{note}" if note else "")


def raise_text(event: AlertEvent, tickets: dict[str, str] | None = None) -> str:
    lines = [f"Escalated by rule {event.rule_id} to P{event.priority}: {event.body or event.title}"]
    lines += measurements(event)
    lines += occurrences(event.related, tickets or {})
    return "\n".join(lines)
