"""EngineState <-> plain data (JSON-able) for the daemon's state database: a codec.

The document (version 1): every pending/firing alert (with its ``for`` / clear
timers), the series the rules are bound to (last values and the history rate and
trend need), the last reading time of each site, repetition logs, composite
members and the alerts a silence holds back. JSON has no infinity: never and
none are null, non-finite history values and evidence are left out. Decoding
takes what it can read and skips the rest (a damaged document restores less,
it does not stop the daemon); which alerts still fit the rules is the engine's
call (``Engine.resume``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from gatewatch.rules.machine import INACTIVE, STATUS_NAMES, AlertState
from gatewatch.rules.snapshot import AlertRecord, EngineState, GroupState, SeriesState

VERSION = 1


def encode(state: EngineState) -> dict[str, Any]:
    return {
        "version": VERSION,
        "origin": state.origin,
        "sites": dict(state.sites),
        "series": [_series(s) for s in state.series],
        "alerts": {key: _alert(a) for key, a in state.alerts.items()},
        "groups": {
            key: {"rule": g.rule, "site": g.site, "asset": g.asset, "group": g.group}
            for key, g in state.groups.items()
        },
        "repeats": {key: [[t, i] for t, i in log] for key, log in state.repeats.items()},
        "held": list(state.held),
        "composites": {
            key: {ref: [firing, at] for ref, (firing, at) in members.items()}
            for key, members in state.composites.items()
        },
    }


def _series(s: SeriesState) -> dict[str, Any]:
    evidence = s.evidence or {}
    return {
        "site": s.site,
        "asset": s.asset,
        "metric": s.metric,
        "last_ts": _finite(s.last_ts),
        "value": _finite(s.value),
        "prev": _finite(s.prev),
        "history": [[t, v] for t, v in s.history if math.isfinite(v)],
        "evidence": {k: v for k, v in evidence.items() if isinstance(v, str) or math.isfinite(v)},
    }


def _alert(a: AlertRecord) -> dict[str, Any]:
    st = a.state
    return {
        "rule": a.rule,
        "kind": a.kind,
        "status": STATUS_NAMES[st.status],
        "since": st.since,
        "firing_since": st.firing_since,
        "clear_since": st.clear_since,
        "last_alarm": _finite(st.last_alarm),
        "next_update": _finite(st.next_update),
        "priority": st.priority,
    }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def decode(data: Mapping[str, Any]) -> EngineState | None:
    """The state of a document, or None if it is not one this version reads."""
    if not isinstance(data, Mapping) or data.get("version") != VERSION:
        return None
    origin, alerts = data.get("origin"), _dict(data.get("alerts"))
    return EngineState(
        origin=float(origin) if isinstance(origin, int | float) else None,
        sites={str(k): float(v) for k, v in _dict(data.get("sites")).items() if _num(v)},
        series=tuple(_read_series(s) for s in _list(data.get("series")) if isinstance(s, dict)),
        alerts={str(k): _read_alert(str(k), a) for k, a in alerts.items() if isinstance(a, dict)},
        groups=_read_groups(_dict(data.get("groups"))),
        repeats=_read_repeats(_dict(data.get("repeats"))),
        held=tuple(key for key in _list(data.get("held")) if isinstance(key, str)),
        composites=_read_composites(_dict(data.get("composites"))),
    )


def _read_groups(groups: dict[Any, Any]) -> dict[str, GroupState]:
    fields = ("rule", "site", "asset", "group")
    return {
        str(key): GroupState(*(str(meta.get(f, "")) for f in fields))
        for key, meta in groups.items()
        if isinstance(meta, dict) and "rule" in meta
    }


def _read_repeats(repeats: dict[Any, Any]) -> dict[str, tuple[tuple[float, str], ...]]:
    return {
        str(key): tuple((float(e[0]), str(e[1])) for e in log if _entry(e))
        for key, log in repeats.items()
        if isinstance(log, list)
    }


def _read_composites(composites: dict[Any, Any]) -> dict[str, dict[str, tuple[bool, float]]]:
    return {
        str(key): {str(ref): (bool(v[0]), float(v[1])) for ref, v in members.items() if _pair(v)}
        for key, members in composites.items()
        if isinstance(members, dict)
    }


def _read_series(item: dict[str, Any]) -> SeriesState:
    history = [p for p in _list(item.get("history")) if _numbers(p)]
    evidence = item.get("evidence")
    return SeriesState(
        site=str(item.get("site", "")),
        asset=str(item.get("asset", "")),
        metric=str(item.get("metric", "")),
        last_ts=_float(item.get("last_ts"), -math.inf),
        value=_float(item.get("value"), math.nan),
        prev=_float(item.get("prev"), math.nan),
        history=tuple((float(t), float(v)) for t, v in history),
        evidence=MappingProxyType(
            {str(k): v for k, v in evidence.items() if isinstance(v, str | int | float)}
        )
        if isinstance(evidence, dict)
        else None,
    )


def _read_alert(key: str, item: dict[str, Any]) -> AlertRecord:
    clear, status = item.get("clear_since"), item.get("status")
    priority = _float(item.get("priority"), 4.0)
    state = AlertState(
        key=key,
        status=STATUS_NAMES.index(status) if status in STATUS_NAMES else INACTIVE,
        since=_float(item.get("since"), 0.0),
        firing_since=_float(item.get("firing_since"), 0.0),
        clear_since=float(clear) if isinstance(clear, int | float) else None,
        last_alarm=_float(item.get("last_alarm"), -math.inf),
        next_update=_float(item.get("next_update"), math.inf),
        priority=int(priority) if math.isfinite(priority) else 4,
    )
    rule, kind = item.get("rule"), item.get("kind")
    return AlertRecord(rule if isinstance(rule, str) else "", str(kind or ""), state)


def _dict(v: Any) -> dict[Any, Any]:
    return v if isinstance(v, dict) else {}


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _float(v: Any, default: float) -> float:
    return float(v) if isinstance(v, int | float) else default


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _pair(v: Any) -> bool:
    """A composite member: [firing, at]."""
    return isinstance(v, list) and len(v) == 2 and _num(v[1])


def _entry(v: Any) -> bool:
    """A repetition log entry: [ts, incident key]."""
    return isinstance(v, list) and len(v) == 2 and _num(v[0])


def _numbers(p: Any) -> bool:
    """A history sample: [ts, value] (as the engine always read them: bools count)."""
    return isinstance(p, list) and len(p) == 2 and all(isinstance(x, int | float) for x in p)
