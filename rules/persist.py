"""Engine state <-> plain data (JSON-able) for the daemon's state database.

Saved: every pending/firing alert (with its ``for`` / clear timers), the
series the rules are bound to (last values and the history rate/trend need),
the last reading time of each site, repetition logs and composite members.
On restore, alerts of rules that no longer exist or changed their kind of
condition are dropped; everything else continues where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gatewatch.rules.machine import INACTIVE, AlertState

if TYPE_CHECKING:
    from gatewatch.rules.engine import Binding, Engine

VERSION = 1


def export_engine(engine: Engine) -> dict[str, Any]:
    alerts = {key: _alert(b) for key, b in engine._timed.items()}
    groups = {
        key: {"rule": b.rule.id, "site": b.site, "asset": b.asset_id, "group": b.group}
        for key, b in engine._groups.items()
        if key in alerts or key in engine._logs or key in engine._members
    }
    return {
        "version": VERSION,
        "origin": engine._origin,
        "sites": dict(engine._sites),
        "series": [
            s.export() for s in engine._series.values() if s.bindings and math.isfinite(s.last_ts)
        ],
        "alerts": alerts,
        "groups": groups,
        "repeats": {k: [[t, i] for t, i in log] for k, log in engine._logs.items() if log},
        "held": sorted(engine._held),
        "composites": {
            k: {ref: [firing, at] for ref, (firing, at) in m.items()}
            for k, m in engine._members.items()
        },
    }


def _alert(b: Binding) -> dict[str, Any]:
    return {"rule": b.rule.id, "kind": str(b.rule.condition.kind), **b.state.to_dict()}


def restore_engine(engine: Engine, data: Mapping[str, Any]) -> int:
    if not isinstance(data, Mapping) or data.get("version") != VERSION:
        return 0
    origin = data.get("origin")
    engine._origin = float(origin) if isinstance(origin, int | float) else None
    sites = data.get("sites")
    if isinstance(sites, dict):
        engine._sites.update({str(k): float(v) for k, v in sites.items() if _num(v)})
    bindings = _restore_series(engine, data.get("series"))
    bindings.update(_restore_groups(engine, data))
    restored = _restore_alerts(engine, data.get("alerts"), bindings)
    engine._timed_next = engine._stale_next = -math.inf
    held = data.get("held")
    for key in held if isinstance(held, list) else []:
        if key in engine._timed:
            engine._held[key] = engine._timed[key]
    return restored


def _restore_series(engine: Engine, items: Any) -> dict[str, Binding]:
    out: dict[str, Binding] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        key = (str(item.get("site", "")), str(item.get("asset", "")), str(item.get("metric", "")))
        s = engine._series.get(key) or engine._new_series(*key)
        s.restore(item)
        out.update({b.state.key: b for b in s.bindings})
    return out


def _restore_groups(engine: Engine, data: Mapping[str, Any]) -> dict[str, Binding]:
    out: dict[str, Binding] = {}
    groups = data.get("groups")
    for key, meta in (groups if isinstance(groups, dict) else {}).items():
        rule = engine._by_id.get(str(meta.get("rule"))) if isinstance(meta, dict) else None
        if rule is None:
            continue
        b = engine._group_binding(
            rule, str(meta.get("site", "")), str(meta.get("asset", "")), str(meta.get("group", ""))
        )
        if b.state.key != key:
            continue
        out[key] = b
        _restore_windows(engine, key, data)
    return out


def _restore_windows(engine: Engine, key: str, data: Mapping[str, Any]) -> None:
    repeats, composites = data.get("repeats") or {}, data.get("composites") or {}
    log = repeats.get(key) if isinstance(repeats, dict) else None
    if isinstance(log, list):
        engine._logs[key] = [(float(t), str(i)) for t, i in log if _num(t)]
    members = composites.get(key) if isinstance(composites, dict) else None
    if isinstance(members, dict):
        engine._members[key] = {
            str(ref): (bool(v[0]), float(v[1])) for ref, v in members.items() if _pair(v)
        }


def _restore_alerts(engine: Engine, alerts: Any, bindings: dict[str, Binding]) -> int:
    restored = 0
    for key, item in (alerts if isinstance(alerts, dict) else {}).items():
        b = bindings.get(key)
        if b is None or not isinstance(item, dict):
            continue
        if item.get("rule") != b.rule.id or item.get("kind") != str(b.rule.condition.kind):
            continue
        b.state = AlertState.from_dict(key, item)
        if b.state.status != INACTIVE:
            engine._timed[key] = b
            if b.rule.condition.kind == "site_silent":
                engine._track_site(b)
            restored += 1
    return restored


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _pair(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 2 and _num(v[1])
