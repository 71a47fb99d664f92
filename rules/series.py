"""What the engine remembers about one series (last values and a short history), and
the alert instances bound to a series, a site or a group (``Binding``)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from gatewatch.core.assets import Asset
from gatewatch.rules.context import Context
from gatewatch.rules.language.model import Kind, Rule
from gatewatch.rules.machine import AlertState
from gatewatch.rules.snapshot import SeriesState

TRIM_AT: Final = 32  # samples kept whatever ``keep`` says, before old ones are dropped
SLACK: Final = 0.125  # history is cut back to ``keep`` once it reaches 1.125 x ``keep``


class Series:
    __slots__ = (
        "asset",
        "asset_id",
        "backlog",
        "bindings",
        "checks",
        "evidence",
        "keep",
        "last_ts",
        "metric",
        "prev",
        "site",
        "ts",
        "vals",
        "value",
    )

    def __init__(self, site: str, asset_id: str, metric: str, asset: Asset | None) -> None:
        self.site, self.asset_id, self.metric, self.asset = site, asset_id, metric, asset
        self.last_ts = -math.inf
        self.value = math.nan
        self.prev = math.nan
        self.ts: list[float] = []
        self.vals: list[float] = []
        self.keep = 0.0  # seconds of history the bound rules need
        self.bindings: list[Binding] = []
        self.checks: list[tuple[Callable[[Series], int], Binding]] = []  # the hot loop's view
        self.evidence: Mapping[str, str | float] = MappingProxyType({})
        self.backlog = False  # the latest reading came in a session's backlog (engine.py)

    @property
    def unit(self) -> str | None:
        spec = self.asset.metric(self.metric) if self.asset else None
        return spec.unit if spec else None

    def push(self, t: float, value: float) -> None:
        self.prev, self.value, self.last_ts = self.value, value, t
        self.ts.append(t)
        self.vals.append(value)
        if len(self.ts) > TRIM_AT:
            self.trim(t)

    def shift(self, delta: float) -> None:
        """The clock of this series' times stepped by ``delta`` seconds: move them all."""
        self.last_ts += delta
        self.ts = [t + delta for t in self.ts]

    def trim(self, t: float) -> None:
        """Drop history older than ``keep`` (keeping one reading before it as a baseline).

        Amortized: the cut waits until the oldest reading is ``SLACK`` x ``keep`` past
        what is needed, then drops about that ninth at once, so a series holds at most
        1.125 x the history its rules use (not twice)."""
        ts = self.ts
        if ts[0] < t - self.keep * (1.0 + SLACK):
            cut = max(0, bisect_right(ts, t - self.keep) - 1)
            del ts[:cut]
            del self.vals[:cut]

    def rate(self, window: float) -> float:
        """Change per minute over ``window`` (from the last reading at or before its start)."""
        ts = self.ts
        if len(ts) < 2:
            return math.nan
        i = max(0, bisect_right(ts, ts[-1] - window) - 1)
        span = ts[-1] - ts[i]
        return (self.vals[-1] - self.vals[i]) * 60.0 / span if span > 0 else math.nan

    def snapshot(self) -> SeriesState:
        """The last values and the history the bound rules need (``keep``)."""
        cut = max(0, bisect_right(self.ts, self.last_ts - self.keep) - 1)
        history = tuple(zip(self.ts[cut:], self.vals[cut:], strict=True))
        evidence = MappingProxyType(dict(self.evidence))
        return SeriesState(
            self.site, self.asset_id, self.metric, self.last_ts, self.value, self.prev,
            history, evidence,
        )  # fmt: skip

    def resume(self, saved: SeriesState) -> None:
        self.last_ts, self.value, self.prev = saved.last_ts, saved.value, saved.prev
        self.ts = [t for t, _ in saved.history]
        self.vals = [v for _, v in saved.history]
        if saved.evidence is not None:
            self.evidence = MappingProxyType(dict(saved.evidence))


Judge = Callable[[Series], int]


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


class SiteTimes:
    """The time of the last reading of each site heard from. ``advance`` is on the hot
    path: readings come in runs of one site, so it keeps the last site's time at hand
    (every write goes through this class, so that copy is never stale)."""

    __slots__ = ("_site", "_t", "times")

    def __init__(self) -> None:
        self.times: dict[str, float] = {}  # to read; write with advance and update
        self._site: str | None = None
        self._t = -math.inf

    def advance(self, site: str, t: float) -> bool:
        """A reading of ``site`` at ``t``: True if it is the site's latest yet."""
        if site != self._site:
            self._site, self._t = site, self.times.get(site, -math.inf)
        if self._t < t:
            self.times[site] = self._t = t
            return True
        return False

    def update(self, times: Mapping[str, float]) -> None:
        self.times.update(times)
        self._site = None
