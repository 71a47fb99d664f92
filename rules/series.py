"""What the engine remembers about one series: last values and a short history."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from gatewatch.core.assets import Asset

if TYPE_CHECKING:
    from gatewatch.rules.engine import Binding

TRIM_AT = 256  # samples kept before old ones are dropped


class Series:
    __slots__ = (
        "asset",
        "asset_id",
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

    def trim(self, t: float) -> None:
        """Drop history older than ``keep`` (keeping one reading before it as a baseline)."""
        ts = self.ts
        if ts[0] < t - 2 * self.keep:  # amortized: drop about half at once
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

    def export(self) -> dict[str, object]:
        cut = max(0, bisect_right(self.ts, self.last_ts - self.keep) - 1)
        return {
            "site": self.site,
            "asset": self.asset_id,
            "metric": self.metric,
            "last_ts": self.last_ts if math.isfinite(self.last_ts) else None,
            "value": self.value if math.isfinite(self.value) else None,
            "prev": self.prev if math.isfinite(self.prev) else None,
            "history": [
                [t, v]
                for t, v in zip(self.ts[cut:], self.vals[cut:], strict=True)
                if math.isfinite(v)  # JSON has no inf (days_to_zone_c = never)
            ],
            "evidence": {
                k: v for k, v in self.evidence.items() if isinstance(v, str) or math.isfinite(v)
            },
        }

    def restore(self, data: Mapping[str, object]) -> None:
        self.last_ts = _num(data.get("last_ts"), -math.inf)
        self.value = _num(data.get("value"), math.nan)
        self.prev = _num(data.get("prev"), math.nan)
        history = data.get("history")
        pairs = [p for p in history if _pair(p)] if isinstance(history, list) else []
        self.ts = [float(p[0]) for p in pairs]
        self.vals = [float(p[1]) for p in pairs]
        evidence = data.get("evidence")
        if isinstance(evidence, dict):
            self.evidence = MappingProxyType(
                {str(k): v for k, v in evidence.items() if isinstance(v, str | int | float)}
            )


def _num(value: object, default: float) -> float:
    return float(value) if isinstance(value, int | float) else default


def _pair(p: object) -> bool:
    return isinstance(p, list) and len(p) == 2 and all(isinstance(x, int | float) for x in p)
