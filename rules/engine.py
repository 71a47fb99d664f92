"""The rule engine: readings + a clock in, AlertEvent values out. Pure, no I/O.

    engine = Engine(ruleset, assets, default_site="hq")
    events = engine.process(readings)      # each reading evaluated at its own ts
    events += engine.tick(now)             # timers: for, clear_for, stale, windows
    blob = engine.export_state()           # plain JSON-able data for the state DB
    engine.restore_state(blob)             # after a restart: nothing re-fires or is forgotten

A reading only visits the rules bound to its series; bindings are computed
once per series from an index by metric name, so unrelated rules cost
nothing.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gatewatch.core.assets import Asset, AssetRegistry
from gatewatch.core.events import AlertEvent, EventKind, TicketPolicy
from gatewatch.core.reading import Reading
from gatewatch.core.signals import DerivedSignal
from gatewatch.rules.machine import (
    FIRING,
    INACTIVE,
    AlertState,
    Transition,
    advance,
    next_due,
    quiet_step,
    step,
)
from gatewatch.rules.model import (
    ALARM,
    CLEAR,
    HOLD,
    SERIES_KINDS,
    Band,
    Condition,
    Kind,
    Rule,
    RuleSet,
)
from gatewatch.rules.render import Context, build_event, effective, series_event
from gatewatch.rules.series import TRIM_AT, Series
from gatewatch.rules.silence import Mute

STATE_VERSION = 1
YES: int = ALARM
NO: int = CLEAR
MAYBE: int = HOLD
Judge = Callable[[Series], int]
KeyedRow = tuple[int, float, float]  # series key, ts, value (see process_keyed)


class Binding:
    """One alert instance: a rule on a series, a site or a group."""

    __slots__ = ("asset", "asset_id", "ctx", "group", "judge", "rule", "series", "site", "state")

    def __init__(
        self,
        rule: Rule,
        key: str,
        *,
        judge: Judge | None = None,
        series: Series | None = None,
        site: str = "",
        asset_id: str = "",
        asset: Asset | None = None,
        group: str = "",
    ) -> None:
        self.rule, self.state, self.judge, self.series = rule, AlertState(key), judge, series
        self.site, self.asset_id, self.asset, self.group = site, asset_id, asset, group
        self.ctx: Context | None = None

    def context(self) -> Context:
        s = self.series
        if s is None:
            return self.ctx or Context(self.site, self.asset, self.asset_id, group=self.group)
        value, threshold, trend = self.measures(s)
        return Context(
            site=s.site,
            asset=s.asset,
            asset_id=s.asset_id,
            metric=s.metric,
            value=value,
            unit=s.unit,
            threshold=threshold,
            trend_per_min=trend,
            evidence=s.evidence,
        )

    def measures(self, s: Series) -> tuple[float | None, float | None, float | None]:
        """The series' value, the limit it crossed and its trend per minute, for tickets."""
        cond = self.rule.condition
        rate, value = s.rate(cond.window), s.value
        threshold = (
            cond.band.threshold(rate if cond.kind == Kind.RATE else value) if cond.band else None
        )
        finite = math.isfinite
        return (value if finite(value) else None), threshold, (rate if finite(rate) else None)


def make_judge(cond: Condition) -> Judge:
    """The verdict of a series condition on the series' latest reading."""
    if cond.kind == Kind.THRESHOLD and cond.band is not None:
        return _value_judge(cond.band)
    if cond.kind == Kind.RATE and cond.band is not None:
        return _rate_judge(cond.band, cond.window)
    if cond.kind == Kind.STATE and cond.expr is not None:
        return _state_judge(cond)
    return lambda s: CLEAR  # stale: a reading clears it; the clock raises it


def _limits(band: Band) -> tuple[float, float, float, float]:
    """The band's alarm and clear levels, bound as locals by the specialised judges."""
    return band.above, band.below, band.clear_above, band.clear_below


def _value_judge(band: Band) -> Judge:
    above, below, clear_above, clear_below = _limits(band)

    def judge_value(s: Series) -> int:
        v = s.value
        if v > above or v < below:
            return YES
        return NO if clear_below <= v <= clear_above else MAYBE

    return judge_value


def _rate_judge(band: Band, window: float) -> Judge:
    """Band on ``Series.rate(window)``, computed inline (the hot path of rate rules;
    tests hold it equal to ``band.judge(series.rate(window))``)."""
    above, below, clear_above, clear_below = _limits(band)

    def judge_rate(s: Series) -> int:
        ts = s.ts
        if len(ts) < 2:
            return MAYBE  # no rate yet (NaN): neither alarm nor clear
        last = ts[-1]
        i = bisect_right(ts, last - window) - 1
        span = last - ts[i if i > 0 else 0]
        if not span > 0:
            return MAYBE
        vals = s.vals
        v = (vals[-1] - vals[i if i > 0 else 0]) * 60.0 / span
        if v > above or v < below:
            return YES
        return NO if clear_below <= v <= clear_above else MAYBE

    return judge_rate


def _state_judge(cond: Condition) -> Judge:
    assert cond.expr is not None
    alarm = cond.expr.fn
    clear = cond.clear_expr.fn if cond.clear_expr is not None else None

    def judge_state(s: Series) -> int:
        if alarm(s):
            return YES
        return NO if clear is None or clear(s) else MAYBE

    return judge_state


def _before(t: float, span: float) -> float:
    """A little before ``t + span``, safely below every rounding of ``now - span > t``
    or ``now - t > span`` (conservative: a tick too many changes nothing)."""
    return t + span - 1e-9 * (abs(t) + abs(span) + 1.0)


def group_of(fields: tuple[str, ...], site: str, asset_id: str, asset: Asset | None) -> str:
    loc = asset.location if asset else None
    values = {
        "site": site,
        "asset": asset_id,
        "class": asset.asset_class if asset else "",
        "building": loc.building if loc else "",
        "floor": loc.floor if loc else "",
        "room": loc.room if loc else "",
    }
    return "/".join(f"{f}={values[f]}" for f in fields)


class Engine:
    def __init__(
        self, rules: RuleSet, assets: AssetRegistry | None = None, *, default_site: str = ""
    ) -> None:
        self.assets = assets or AssetRegistry.empty()
        self.default_site = default_site
        self.stats: dict[str, int] = {
            "readings": 0,
            "out_of_order": 0,
            "events": 0,
            "muted": 0,
            "ticks": 0,  # ticks run (a replay skips those that provably do nothing)
        }
        self._mutes: tuple[Mute, ...] = ()
        self._install(rules)

    def set_silences(self, mutes: Iterable[Mute]) -> None:
        """Silences and maintenance windows (replaces the previous set)."""
        self._mutes = tuple(mutes)

    # -- setup -------------------------------------------------------------------

    def _install(self, rules: RuleSet) -> None:
        self.rules = rules
        self._by_id = {r.id: r for r in rules.rules}
        self._exact: dict[str, list[Rule]] = defaultdict(list)
        self._wild: list[Rule] = []
        self._site_rules: list[Rule] = []
        self._dependents: dict[str, list[Rule]] = defaultdict(list)
        self._judges: dict[str, Judge] = {}
        for rule in rules.rules:
            self._index(rule)
        self._series: dict[tuple[str, str, str], Series] = {}
        self._keyed: dict[int, Series] = {}  # process_keyed's series by key
        self._key_names: Mapping[int, tuple[str, str, str]] | None = None
        self._stale: list[Binding] = []
        self._stale_next = -math.inf  # no stale check can fire before this
        self._timed_next = -math.inf  # no timed alert is due before this
        self._timed: dict[str, Binding] = {}
        self._groups: dict[str, Binding] = {}
        self._site_alerts: dict[str, list[Binding]] = {}
        self._sites: dict[str, float] = {}
        self._logs: dict[str, list[tuple[float, str]]] = {}
        self._members: dict[str, dict[str, tuple[bool, float]]] = {}
        self._origin: float | None = None
        self._held: dict[str, Binding] = {}  # FIRED while muted, not yet ticketed
        for asset in self.assets.assets.values():
            for metric in asset.metrics:
                self._new_series(self.default_site, asset.id, metric)

    def _index(self, rule: Rule) -> None:
        kind = rule.condition.kind
        if kind in SERIES_KINDS:
            self._judges[rule.id] = make_judge(rule.condition)
            metrics = rule.selector.metrics
            if metrics and not any(c in m for m in metrics for c in "*?["):
                for m in metrics:
                    self._exact[m].append(rule)
            else:
                self._wild.append(rule)
        elif kind == Kind.SITE_SILENT:
            self._site_rules.append(rule)
        else:
            for ref in rule.condition.refs:
                self._dependents[ref].append(rule)

    def _new_series(self, site: str, asset_id: str, metric: str) -> Series:
        asset = self.assets.get(asset_id)
        s = Series(site, asset_id, metric, asset)
        exact = [(rule, None) for rule in self._exact.get(metric, ())]
        for rule, check in exact + [(rule, metric) for rule in self._wild]:
            if rule.selector.matches(site, asset_id, asset, check):
                key = f"{rule.id}:{site}/{asset_id}/{metric}"
                judge = self._judges[rule.id]
                b = Binding(rule, key, judge=judge, series=s)
                s.bindings.append(b)
                s.checks.append((judge, b))
                s.keep = max(s.keep, rule.condition.window)
                if rule.condition.kind == Kind.STALE:
                    self._stale.append(b)
                    self._stale_next = -math.inf
        self._series[(site, asset_id, metric)] = s
        return s

    def _group_binding(self, rule: Rule, site: str, asset_id: str, group: str) -> Binding:
        key = f"{rule.id}:{group or site}"
        b = self._groups.get(key)
        if b is None:
            asset = self.assets.get(asset_id)
            b = Binding(rule, key, site=site, asset_id=asset_id, asset=asset, group=group)
            self._groups[key] = b
        return b

    # -- the hot path ------------------------------------------------------------

    def process(
        self, readings: Iterable[Reading | DerivedSignal], now: float | None = None
    ) -> list[AlertEvent]:
        """Evaluate readings in order, each at its own timestamp (clamped to ``now``)."""
        out: list[AlertEvent] = []
        series, sites, site_alerts, n = self._series, self._sites, self._site_alerts, 0
        alarm, inactive, quiet, never, trim_at, derived = (
            ALARM,
            INACTIVE,
            quiet_step,
            -math.inf,
            TRIM_AT,
            DerivedSignal,
        )
        apply, site_t = self._apply, never
        site_of: str | None = None
        for r in readings:
            n += 1
            site = r.site
            s = series.get((site, r.asset, r.metric))
            if s is None:
                s = self._new_series(site, r.asset, r.metric)
            t, value = r.ts, r.value
            if now is not None and t > now:
                t = now
            if t < s.last_ts:
                self.stats["out_of_order"] += 1
                continue
            if site != site_of:  # the site's clock, cached while the site repeats
                site_of, site_t = site, sites.get(site, never)
            if site_t < t:
                sites[site] = site_t = t
                if site_alerts and site in site_alerts:
                    self._site_back(site, t, out)
            s.prev, s.value, s.last_ts = s.value, value, t  # Series.push, inlined
            ts = s.ts
            ts.append(t)
            s.vals.append(value)
            if len(ts) > trim_at:
                s.trim(t)
            if type(r) is derived:
                s.evidence = r.evidence
            for judge, b in s.checks:
                verdict, st = judge(s), b.state
                if verdict == alarm if st.status == inactive else not quiet(b.rule, st, verdict, t):
                    apply(b, step(b.rule, st, verdict, t), out)
        self.stats["readings"] += n
        if self._origin is None and sites:
            self._origin = min(sites.values())
        return out

    def process_keyed(
        self, rows: Iterable[KeyedRow], names: Mapping[int, tuple[str, str, str]]
    ) -> list[AlertEvent]:
        """The backtest fast path: (series key, ts, value) rows, ``names`` maps a key to
        its (site, asset, metric) and stays the same for the engine's life. Same
        semantics as ``process`` (tests hold the two equal)."""
        if names is not self._key_names:
            self._key_names, self._keyed = names, {}
        out: list[AlertEvent] = []
        keyed, sites, site_alerts, n = self._keyed, self._sites, self._site_alerts, 0
        alarm, inactive, quiet = ALARM, INACTIVE, quiet_step
        trim_at, apply, site_of, site_t = TRIM_AT, self._apply, "", -math.inf
        for key, t, value in rows:
            n += 1
            s = keyed.get(key)
            if s is None:
                s = keyed[key] = self._series_for(*names[key])
            if t < s.last_ts:
                self.stats["out_of_order"] += 1
                continue
            if s.site != site_of:  # rows come in time order: the site's clock, cached
                site_of, site_t = s.site, sites.get(s.site, -math.inf)
            if site_t < t:
                sites[site_of] = site_t = t
                if site_alerts and site_of in site_alerts:
                    self._site_back(site_of, t, out)
            s.prev, s.value, s.last_ts = s.value, value, t
            s.ts.append(t)
            s.vals.append(value)
            if len(s.ts) > trim_at:
                s.trim(t)
            for judge, b in s.checks:
                verdict, st = judge(s), b.state
                if verdict == alarm if st.status == inactive else not quiet(b.rule, st, verdict, t):
                    apply(b, step(b.rule, st, verdict, t), out)
        self.stats["readings"] += n
        if self._origin is None and sites:
            self._origin = min(sites.values())
        return out

    def _series_for(self, site: str, asset_id: str, metric: str) -> Series:
        return self._series.get((site, asset_id, metric)) or self._new_series(
            site, asset_id, metric
        )

    def _apply(self, b: Binding, transitions: list[Transition], out: list[AlertEvent]) -> None:
        st = b.state
        if st.status != INACTIVE:
            self._timed[st.key] = b
            due = next_due(b.rule, st)
            self._timed_next = min(self._timed_next, due)
        else:
            self._timed.pop(st.key, None)
        for kind, ts in transitions:
            priority, policy = effective(b.rule, self._asset_of(b), self.rules.class_policies)
            if kind == EventKind.FIRED:
                st.priority = priority
            event = self._event(b, kind, ts, policy)
            if b.rule.notify:
                delivered = self._deliver(b, kind, event)
                out += delivered
                self.stats["events"] += len(delivered)
            deps = self._dependents.get(b.rule.id)
            if deps and kind in (EventKind.FIRED, EventKind.RESOLVED):
                self._propagate(b, event, deps, out)

    def _muted(self, b: Binding, ts: float) -> bool:
        schedule = b.rule.schedule
        if schedule is not None and not schedule.active(ts):
            return True
        if not self._mutes:
            return False
        s = b.series
        site, asset_id = (s.site, s.asset_id) if s is not None else (b.site, b.asset_id)
        if s is None and b.ctx is not None:
            asset_id = b.ctx.asset_id
        asset = self._asset_of(b)
        return any(
            m.active(ts) and m.match.matches(b.rule.id, site, asset_id, asset) for m in self._mutes
        )

    def _deliver(self, b: Binding, kind: EventKind, event: AlertEvent) -> list[AlertEvent]:
        """What reaches the tickets now, given silences and maintenance windows."""
        key, ts = b.state.key, event.ts
        if not self._muted(b, ts):
            if key not in self._held:
                return [event]
            del self._held[key]  # the silence ended between two ticks
            if kind == EventKind.RESOLVED:
                return []  # never ticketed
            if kind == EventKind.FIRED:
                return [event]
            return [self._event(b, EventKind.FIRED, ts), event]
        self.stats["muted"] += 1
        if kind == EventKind.FIRED:
            self._held[key] = b
        elif kind == EventKind.RESOLVED and self._held.pop(key, None) is None:
            return [event]  # ticketed before the silence began: close it honestly
        return []

    def _tick_held(self, now: float, out: list[AlertEvent]) -> None:
        """When a silence or window ends, what is still firing is ticketed at once."""
        for key, b in list(self._held.items()):
            if b.state.status != FIRING:
                del self._held[key]
            elif not self._muted(b, now):
                del self._held[key]
                out.append(self._event(b, EventKind.FIRED, now))
                interval = b.rule.policy.update_interval
                b.state.next_update = now + interval if interval else math.inf
                self.stats["events"] += 1

    def _asset_of(self, b: Binding) -> Asset | None:
        return b.series.asset if b.series is not None else (b.ctx.asset if b.ctx else b.asset)

    def _event(
        self, b: Binding, kind: EventKind, ts: float, policy: TicketPolicy | None = None
    ) -> AlertEvent:
        """``policy``: the binding's effective policy when the caller has it already."""
        if policy is None:
            policy = effective(b.rule, self._asset_of(b), self.rules.class_policies)[1]
        st, s = b.state, b.series
        if s is not None:  # the common case: no Context unless the text is rendered
            return series_event(
                b.rule,
                kind,
                ts,
                key=st.key,
                since=st.firing_since,
                priority=st.priority,
                policy=policy,
                series=s,
                measures=b.measures(s),
            )
        return build_event(
            b.rule,
            kind,
            key=st.key,
            ts=ts,
            since=st.firing_since,
            priority=st.priority,
            policy=policy,
            ctx=b.context(),
        )

    # -- rules on rules: repetition and composites ------------------------------

    def _propagate(
        self, src: Binding, ev: AlertEvent, deps: list[Rule], out: list[AlertEvent]
    ) -> None:
        ctx = src.context()
        for dep in deps:
            cond = dep.condition
            group = group_of(cond.group_by, ctx.site, ctx.asset_id, ctx.asset)
            b = self._group_binding(dep, ctx.site, ctx.asset_id, group)
            if cond.kind == Kind.REPEATED:
                self._repeat(b, ev, ctx, out)
            else:
                self._composite(b, src.rule.id, ev, ctx, out)

    def _repeat(self, b: Binding, ev: AlertEvent, ctx: Context, out: list[AlertEvent]) -> None:
        if ev.kind != EventKind.FIRED:
            return
        cond, st = b.rule.condition, b.state
        log = self._logs.setdefault(st.key, [])
        log.append((ev.ts, ev.incident_key))
        log[:] = [e for e in log if e[0] >= ev.ts - cond.within]
        grown = st.status != INACTIVE and len(log) > cond.times
        b.ctx = self._group_ctx(b, ctx, log)
        if grown and st.priority > 1 and st.status == FIRING:
            st.priority -= 1
            if b.rule.notify:
                out += self._deliver(
                    b, EventKind.ESCALATED, self._event(b, EventKind.ESCALATED, ev.ts)
                )
            return
        verdict = ALARM if len(log) >= cond.times else CLEAR
        self._apply(b, step(b.rule, st, verdict, ev.ts), out)

    def _group_ctx(self, b: Binding, ctx: Context, log: list[tuple[float, str]]) -> Context:
        related = tuple(dict.fromkeys(k for _, k in log))
        return Context(
            site=ctx.site,
            asset=ctx.asset,
            asset_id=ctx.asset_id,
            metric=ctx.metric,
            value=ctx.value,
            unit=ctx.unit,
            threshold=ctx.threshold,
            trend_per_min=ctx.trend_per_min,
            group=b.group,
            count=len(log),
            related=related,
            evidence=ctx.evidence,
        )

    def _composite(
        self, b: Binding, ref: str, ev: AlertEvent, ctx: Context, out: list[AlertEvent]
    ) -> None:
        members = self._members.setdefault(b.state.key, {})
        members[ref] = (ev.kind == EventKind.FIRED, ev.ts)
        b.ctx = self._group_ctx(b, ctx, [(ev.ts, ev.incident_key)])
        verdict, _ = self._composite_verdict(b.rule, members, ev.ts)
        self._apply(b, step(b.rule, b.state, verdict, ev.ts), out)

    @staticmethod
    def _composite_verdict(
        rule: Rule, members: Mapping[str, tuple[bool, float]], t: float
    ) -> tuple[int, float]:
        """(verdict at t, time the last expired member stopped counting)."""
        cond = rule.condition
        active, expired = [], []
        for ref in cond.refs:
            firing, at = members.get(ref, (False, -math.inf))
            live = firing or t - at <= cond.within
            active.append(live)
            if not live and math.isfinite(at):
                expired.append(at + cond.within)
        met = all(active) if cond.need_all else any(active)
        changed = (min(expired) if cond.need_all else max(expired)) if expired else t
        return (ALARM if met else CLEAR), min(changed, t)

    # -- the clock ---------------------------------------------------------------

    def tick(self, now: float) -> list[AlertEvent]:
        """Advance timers to ``now``: pending ``for``, clearing, reminders, stale, windows."""
        if self._origin is None:
            self._origin = now
        self.stats["ticks"] += 1
        out: list[AlertEvent] = []
        self._tick_stale(now, out)
        self._tick_sites(now, out)
        self._tick_repeats(now, out)
        self._tick_composites(now, out)
        self._tick_held(now, out)
        if now >= self._timed_next:
            self._tick_timed(now, out)
        out.sort(key=lambda e: e.ts)
        return out

    def next_wakeup(self) -> float:
        """A time before which ``tick`` changes nothing (no event, no state), as long as
        no reading comes in between; ``-math.inf``: tick at once. A replay may skip
        the ticks before it (tests hold that equal to ticking every interval)."""
        if self._origin is None or self._held:
            return -math.inf  # the first tick sets the origin; a held FIRED waits for a tick
        return min(
            self._timed_next,
            self._stale_next,
            self._sites_wakeup(self._origin),
            self._repeats_wakeup(),
            self._composites_wakeup(),
        )

    def _sites_wakeup(self, origin: float) -> float:
        """``_tick_sites`` changes nothing while every binding is inactive and ``now`` is
        before every site's due time (the same expression as there)."""
        wake = math.inf
        for site, rule, due in self._site_dues(origin):
            b = self._groups.get(f"{rule.id}:{site}")
            if b is not None and b.state.status != INACTIVE:
                return -math.inf
            wake = min(wake, due)
        return wake

    def _repeats_wakeup(self) -> float:
        """``_tick_repeats`` drops the oldest entry of a log once it is ``within`` old."""
        wake = math.inf
        for key, log in self._logs.items():
            if log:
                wake = min(wake, _before(log[0][0], self._groups[key].rule.condition.within))
        return wake

    def _composites_wakeup(self) -> float:
        """An active composite acts on a tick once its verdict is no longer ALARM: when the
        first (all) or last (any) member that is not firing drops out of the window."""
        wake = math.inf
        for key, members in self._members.items():
            b = self._groups[key]
            if b.state.status == INACTIVE:
                continue
            cond = b.rule.condition
            ends = [
                math.inf if firing else _before(at, cond.within)
                for firing, at in (members.get(ref, (False, -math.inf)) for ref in cond.refs)
            ]
            wake = min(wake, min(ends) if cond.need_all else max(ends))
        return wake

    def _tick_timed(self, now: float, out: list[AlertEvent]) -> None:
        for b in list(self._timed.values()):
            if b.state.status != INACTIVE and next_due(b.rule, b.state) <= now:
                self._apply(b, advance(b.rule, b.state, now), out)
        dues = [next_due(b.rule, b.state) for b in self._timed.values()]
        self._timed_next = min(dues, default=math.inf)

    def _tick_stale(self, now: float, out: list[AlertEvent]) -> None:
        if now < self._stale_next:  # readings only push the due times later
            return
        origin = self._origin if self._origin is not None else now
        upcoming = math.inf
        for b in self._stale:
            s, silent = b.series, b.rule.condition.silent_for
            assert s is not None
            due = (s.last_ts if math.isfinite(s.last_ts) else origin) + silent
            if now < due:
                upcoming = min(upcoming, due)
                continue
            upcoming = -math.inf  # overdue: look again on every tick
            site_last = self._sites.get(s.site, origin)
            verdict = HOLD if now - site_last >= silent else ALARM  # whole site silent
            if verdict == HOLD and b.state.status == INACTIVE:
                continue
            self._apply(b, step(b.rule, b.state, verdict, now, alarm_since=due), out)
        self._stale_next = upcoming

    def _tick_sites(self, now: float, out: list[AlertEvent]) -> None:
        origin = self._origin if self._origin is not None else now
        for site, rule, due in self._site_dues(origin):
            b = self._group_binding(rule, site, "", "")
            if now < due and b.state.status == INACTIVE:
                continue
            verdict = ALARM if now >= due else CLEAR
            self._apply(b, step(rule, b.state, verdict, now, alarm_since=due), out)
            self._track_site(b)

    def _site_dues(self, origin: float) -> list[tuple[str, Rule, float]]:
        """(site, site-silence rule, time the site is silent for it) of every site a
        rule selects; a site never heard from counts from ``origin``."""
        if not self._site_rules:
            return []
        sites = dict(self._sites)
        sites.setdefault(self.default_site, origin)
        return [
            (site, rule, last + rule.condition.silent_for)
            for site, last in sites.items()
            for rule in self._site_rules
            if not rule.selector.sites or site in rule.selector.sites
        ]

    def _track_site(self, b: Binding) -> None:
        bindings = self._site_alerts.setdefault(b.site, [])
        if b.state.status != INACTIVE and b not in bindings:
            bindings.append(b)

    def _site_back(self, site: str, t: float, out: list[AlertEvent]) -> None:
        for b in self._site_alerts.pop(site, []):
            self._apply(b, step(b.rule, b.state, CLEAR, t), out)
            if b.state.status != INACTIVE:
                self._track_site(b)

    def _tick_repeats(self, now: float, out: list[AlertEvent]) -> None:
        for key, log in self._logs.items():
            b = self._groups[key]
            cond = b.rule.condition
            while log and log[0][0] < now - cond.within:
                expired_at = log.pop(0)[0] + cond.within
                if len(log) < cond.times and b.state.status != INACTIVE:
                    self._apply(b, step(b.rule, b.state, CLEAR, expired_at), out)

    def _tick_composites(self, now: float, out: list[AlertEvent]) -> None:
        for key, members in self._members.items():
            b = self._groups[key]
            if b.state.status == INACTIVE:
                continue
            verdict, at = self._composite_verdict(b.rule, members, now)
            if verdict != ALARM:
                self._apply(b, step(b.rule, b.state, verdict, at), out)

    # -- persistence and reload --------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """Everything needed to continue after a restart, as plain JSON-able data."""
        from gatewatch.rules.persist import export_engine

        data: dict[str, Any] = export_engine(self)
        return data

    def restore_state(self, data: Mapping[str, Any]) -> int:
        """Load an export; returns how many alert instances were restored."""
        from gatewatch.rules.persist import restore_engine

        restored: int = restore_engine(self, data)
        return restored

    def replace_rules(self, rules: RuleSet) -> None:
        """Swap in new (already validated) rules, keeping the state of rules that remain."""
        data = self.export_state()
        self._install(rules)
        self.restore_state(data)

    def active(self) -> list[tuple[str, str, float]]:
        """(incident key, status, since) of every pending or firing alert."""
        from gatewatch.rules.machine import STATUS_NAMES

        return sorted(
            (b.state.key, STATUS_NAMES[b.state.status], b.state.since) for b in self._timed.values()
        )
