"""The rule engine: readings + a clock in, AlertEvent values out. Pure, no I/O.

    engine = Engine(ruleset, assets, default_site="hq")
    events = engine.process(readings)      # each reading evaluated at its own ts
    events += engine.tick(now)             # timers: for, clear_for, stale, windows
    state = engine.snapshot()              # a value (rules/snapshot.py): continue from it
    engine.resume(state)                   # after a restart: nothing re-fires or is forgotten
    blob = engine.export_state()           # the snapshot as JSON-able data (rules/persist.py)
    engine.restore_state(blob)             # for the state DB

A reading only visits the rules bound to its series; bindings are computed
once per series from an index by metric name, so unrelated rules cost
nothing.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Final

from gatewatch.core.assets import Asset, AssetRegistry
from gatewatch.core.events import AlertEvent, EventKind, TicketPolicy
from gatewatch.core.reading import Reading
from gatewatch.core.signals import DerivedSignal
from gatewatch.rules.context import Context
from gatewatch.rules.language.model import (
    ALARM,
    CLEAR,
    HISTORY_KINDS,
    HOLD,
    SERIES_KINDS,
    Band,
    Condition,
    Kind,
    Rule,
    RuleSet,
)
from gatewatch.rules.language.silence import Mute
from gatewatch.rules.machine import (
    FIRING,
    INACTIVE,
    STATUS_NAMES,
    Transition,
    advance,
    next_due,
    quiet_step,
    shift,
    step,
)
from gatewatch.rules.persist import decode, encode
from gatewatch.rules.render import build_event, effective, series_event
from gatewatch.rules.series import TRIM_AT, Binding, Judge, Series, SiteTimes
from gatewatch.rules.snapshot import AlertRecord, EngineState, GroupState

YES: int = ALARM
NO: int = CLEAR
MAYBE: int = HOLD
KeyedRow = tuple[int, float, float]  # series key, ts, value (see process_keyed)
# A reading further back than this behind its series' latest is a clock step (an NTP
# correction, a gateway that ran years ahead, a device clock reset), not a straggler:
# the series starts over from it instead of dropping every reading until the old time
# comes round again. Readings less far back are out of order and dropped (counted).
CLOCK_STEP_S: Final = 300.0


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
        if s.backlog or len(ts) < 2:  # a backlog reading's time is its delivery time
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
            "out_of_order": 0,  # readings older than their series' latest, dropped
            "clock_steps": 0,  # series that started over after a step back (CLOCK_STEP_S)
            "events": 0,
            "muted": 0,
            "ticks": 0,  # ticks run (a replay skips those that provably do nothing)
        }
        self._mutes: tuple[Mute, ...] = ()
        # the latest step back: (series, its latest time before, the reading's time)
        self.last_step: tuple[str, float, float] | None = None
        self._latest_now = -math.inf  # the latest ``now`` of process and tick
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
        self._sites = SiteTimes()
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
                if rule.condition.kind in HISTORY_KINDS:  # a no-data rule needs none
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
        if now is not None:
            self._watch_now(now)
        series, n = self._series, 0
        for r in readings:
            n += 1
            s = series.get((r.site, r.asset, r.metric))
            if s is None:
                s = self._new_series(r.site, r.asset, r.metric)
            t = r.ts
            if now is not None and t > now:
                t = now
            if isinstance(r, Reading):
                self._observe(s, t, r.value, None, out, backlog=r.backlog)
            else:
                self._observe(s, t, r.value, r.evidence, out)
        self._counted(n)
        return out

    def process_keyed(
        self, rows: Iterable[KeyedRow], names: Mapping[int, tuple[str, str, str]]
    ) -> list[AlertEvent]:
        """The backtest fast path: (series key, ts, value) rows, ``names`` maps a key to
        its (site, asset, metric) and stays the same for the engine's life. The same
        evaluation as ``process``, without a Reading or a name lookup per row."""
        if names is not self._key_names:
            self._key_names, self._keyed = names, {}
        out: list[AlertEvent] = []
        keyed, n = self._keyed, 0
        for key, t, value in rows:
            n += 1
            s = keyed.get(key)
            if s is None:
                s = keyed[key] = self._series_for(*names[key])
            self._observe(s, t, value, None, out)
        self._counted(n)
        return out

    def _observe(
        self,
        s: Series,
        t: float,
        value: float,
        evidence: Mapping[str, str | float] | None,
        out: list[AlertEvent],
        *,
        backlog: bool = False,
    ) -> None:
        """The evaluation of one reading of ``s`` at ``t``, the hot loop of ``process``
        and ``process_keyed``: the site's clock, the history, every rule bound to ``s``.
        A ``backlog`` reading (Reading.backlog: delivered late, timed at delivery) is the
        series' value for threshold and state rules, stays out of the history, and rate
        rules hold their state on it (MAYBE): a backlog is no rate-of-change spike."""
        if t < s.last_ts:
            if s.last_ts - t < CLOCK_STEP_S:
                self.stats["out_of_order"] += 1
                return
            self._clock_step(s, t)
        if self._sites.advance(s.site, t) and self._site_alerts and s.site in self._site_alerts:
            self._site_back(s.site, t, out)
        s.prev, s.value, s.last_ts = s.value, value, t  # Series.push, inlined
        s.backlog = backlog
        if not backlog:
            ts = s.ts
            ts.append(t)
            s.vals.append(value)
            if len(ts) > TRIM_AT:
                s.trim(t)
        if evidence is not None:
            s.evidence = evidence
        for judge, b in s.checks:
            verdict, st = judge(s), b.state
            if (
                verdict == ALARM
                if st.status == INACTIVE
                else not quiet_step(b.rule, st, verdict, t)
            ):
                self._apply(b, step(b.rule, st, verdict, t), out)

    def _clock_step(self, s: Series, t: float) -> None:
        """A step back: the series' history (which would give a negative time span) is
        dropped and the reading becomes its latest; the alert states are kept. The site's
        clock goes back with it, so its silence is timed from now on, not from the old
        time."""
        self.stats["clock_steps"] += 1
        self.last_step = (f"{s.site}/{s.asset_id}/{s.metric}", s.last_ts, t)
        s.ts.clear()
        s.vals.clear()
        s.last_ts = -math.inf
        if self._sites.times.get(s.site, -math.inf) > t:
            self._sites.update({s.site: t})

    def _watch_now(self, now: float) -> None:
        """``now`` (the gateway's clock) went back ``CLOCK_STEP_S`` or more: every time the
        engine holds moves back with it (alert timers, series, site clocks, composite
        members), so ``for``, ``clear_for``, reminders and stale checks keep their length
        instead of waiting for the old time to come round. Forward jumps are not steps:
        a replay skips ticks, and a suspended gateway's time did pass."""
        latest = self._latest_now
        if now >= latest:
            self._latest_now = now
        elif latest - now >= CLOCK_STEP_S:
            self._shift(now - latest)
            self._latest_now = now
            self.stats["clock_steps"] += 1
            self.last_step = ("gateway clock", latest, now)

    def clock_stepped(self, delta: float) -> None:
        """The clock of ``now`` stepped by ``delta`` seconds, either way: the caller knows
        (the daemon compares the wall clock with one NTP never steps). Everything the
        engine timed moves with it, as for a step back seen in ``now`` (not counted twice)."""
        before = self._latest_now
        self._shift(delta)
        self._latest_now = before + delta
        self.stats["clock_steps"] += 1
        self.last_step = ("gateway clock", before, before + delta)

    def _shift(self, delta: float) -> None:
        bindings: dict[int, Binding] = {}
        for s in self._series.values():
            s.shift(delta)
            bindings.update((id(b), b) for b in s.bindings)
        for group in (self._groups, self._timed, self._held):
            bindings.update((id(b), b) for b in group.values())
        for b in bindings.values():
            shift(b.state, delta)
        self._sites.update({site: t + delta for site, t in self._sites.times.items()})
        for key, log in self._logs.items():
            self._logs[key] = [(t + delta, incident) for t, incident in log]
        for key, members in self._members.items():
            self._members[key] = {ref: (on, at + delta) for ref, (on, at) in members.items()}
        if self._origin is not None:
            self._origin += delta
        self._timed_next = self._stale_next = -math.inf

    def _counted(self, n: int) -> None:
        """After a batch of ``n`` readings: the count, and the origin once a site spoke."""
        self.stats["readings"] += n
        if self._origin is None and self._sites.times:
            self._origin = min(self._sites.times.values())

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
        self._watch_now(now)
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
            site_last = self._sites.times.get(s.site, origin)
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
        sites = dict(self._sites.times)
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

    def snapshot(self, *, series: bool = True) -> EngineState:
        """Everything needed to continue after a restart or a reload, as a value
        (without the series with ``series=False``: a save of the alerts alone)."""
        alerts = {
            key: AlertRecord(b.rule.id, str(b.rule.condition.kind), replace(b.state))
            for key, b in self._timed.items()
        }
        return EngineState(
            origin=self._origin,
            sites=dict(self._sites.times),
            series=tuple(
                s.snapshot()
                for s in self._series.values()
                if series and s.bindings and math.isfinite(s.last_ts)
            ),
            alerts=alerts,
            groups={
                key: GroupState(b.rule.id, b.site, b.asset_id, b.group)
                for key, b in self._groups.items()
                if key in alerts or key in self._logs or key in self._members
            },
            repeats={key: tuple(log) for key, log in self._logs.items() if log},
            held=tuple(sorted(self._held)),
            composites={key: dict(members) for key, members in self._members.items()},
        )

    def resume(self, state: EngineState) -> int:
        """Continue from a snapshot (of these rules or older ones): alerts of rules that
        are gone or changed their kind of condition are dropped. Returns how many alert
        instances were restored."""
        self._origin = state.origin
        self._sites.update(state.sites)
        # a saved reading time is one the clock reached (readings are clamped to now): a
        # first now far behind it means the clock stepped back while the daemon was down
        self._latest_now = max(self._latest_now, max(state.sites.values(), default=-math.inf))
        bindings: dict[str, Binding] = {}
        for saved in state.series:
            s = self._series_for(saved.site, saved.asset, saved.metric)
            s.resume(saved)
            bindings.update({b.state.key: b for b in s.bindings})
        for key, group in state.groups.items():
            b = self._resume_group(key, group, state)
            if b is not None:
                bindings[key] = b
        restored = sum(self._resume_alert(bindings.get(key), a) for key, a in state.alerts.items())
        self._timed_next = self._stale_next = -math.inf
        self._held.update({key: self._timed[key] for key in state.held if key in self._timed})
        return restored

    def _resume_group(self, key: str, group: GroupState, state: EngineState) -> Binding | None:
        """The group binding of a saved key, with its repetition log and composite members."""
        rule = self._by_id.get(group.rule)
        if rule is None:
            return None
        b = self._group_binding(rule, group.site, group.asset, group.group)
        if b.state.key != key:
            return None
        if key in state.repeats:
            self._logs[key] = list(state.repeats[key])
        if key in state.composites:
            self._members[key] = dict(state.composites[key])
        return b

    def _resume_alert(self, b: Binding | None, saved: AlertRecord) -> bool:
        """Whether the saved alert still fits its binding's rule and is active again."""
        if b is None or saved.rule != b.rule.id or saved.kind != str(b.rule.condition.kind):
            return False
        b.state = replace(saved.state)
        if b.state.status == INACTIVE:
            return False
        self._timed[b.state.key] = b
        if b.rule.condition.kind == Kind.SITE_SILENT:
            self._track_site(b)
        return True

    def export_state(self, *, series: bool = True) -> dict[str, Any]:
        """``snapshot`` as plain JSON-able data, for the state database."""
        return encode(self.snapshot(series=series))

    def restore_state(self, data: Mapping[str, Any]) -> int:
        """``resume`` from an ``export_state`` document; 0 if it is not one."""
        state = decode(data)
        return self.resume(state) if state is not None else 0

    def replace_rules(self, rules: RuleSet) -> None:
        """Swap in new (already validated) rules, keeping the state of rules that remain."""
        state = self.snapshot()
        self._install(rules)
        self.resume(state)

    def active(self) -> list[tuple[str, str, float]]:
        """(incident key, status, since) of every pending or firing alert."""
        return sorted(
            (b.state.key, STATUS_NAMES[b.state.status], b.state.since) for b in self._timed.values()
        )
