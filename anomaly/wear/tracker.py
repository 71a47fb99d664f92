"""Per-asset degradation tracking for the daemon: readings in, daily signals out.

Memory is bounded: one median per completed day for ``window_days`` days
and, for the day in progress, one mean per UTC minute (at most 1440 per
series, whatever the reading rate). The daily level is the median of those
per-minute means: at up to one reading a minute it is exactly the median of
the readings (what :func:`gatewatch.anomaly.trend.daily_levels` computes on
the stored history); at higher rates each minute is first averaged, which
only shrinks the noise around the same level, and the median across minutes
still ignores a fault burst shorter than half a day. Once per UTC day (on the first reading
or poll after midnight) the tracker forecasts and returns the
``days_to_zone_c`` / ``days_to_zone_d`` signals; during cold start it returns
no signal and its :attr:`DegradationTracker.status` says why (for the log).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from gatewatch.anomaly.trend import DAY_S, DailyLevels
from gatewatch.anomaly.wear.degradation import (
    DegradationConfig,
    Forecast,
    feature_trends_from_levels,
    forecast_levels,
    to_signals,
)
from gatewatch.anomaly.wear.plot import trend_png
from gatewatch.core.signals import DerivedSignal

MINUTE_S = 60.0


@dataclass(slots=True)
class _DailySeries:
    """Completed daily medians plus per-minute means of the day in progress."""

    days: list[float] = field(default_factory=list)
    levels: list[float] = field(default_factory=list)
    today: float = math.nan
    means: list[float] = field(default_factory=list)  # closed minutes of today (<= 1440)
    minute: float = math.nan  # the open minute of today, its sum and count below
    total: float = 0.0
    count: int = 0
    readings: int = 0  # readings of today, for ``min_per_day``
    late: int = 0  # readings for a day already closed (ignored)

    def add(self, day: float, ts: float, value: float, cfg: DegradationConfig) -> None:
        if not math.isnan(self.today) and day < self.today:
            self.late += 1
            return
        if day != self.today:
            self.close(cfg)
            self.today = day
        minute = math.floor(ts / MINUTE_S)
        if self.count == 0 or minute > self.minute:  # an earlier minute joins the open one
            self._close_minute()
            self.minute = minute
        self.total += value
        self.count += 1
        self.readings += 1

    def _close_minute(self) -> None:
        if self.count:
            self.means.append(self.total / self.count)
        self.minute, self.total, self.count = math.nan, 0.0, 0

    def close(self, cfg: DegradationConfig) -> None:
        self._close_minute()
        if self.readings >= cfg.min_per_day:
            self.days.append(self.today)
            self.levels.append(float(np.median(self.means)))
        self.means, self.readings = [], 0
        while self.days and self.days[0] <= self.today - cfg.window_days:
            self.days.pop(0)
            self.levels.pop(0)

    def completed(self, before_day: float, cfg: DegradationConfig) -> DailyLevels:
        if not math.isnan(self.today) and self.today < before_day:
            self.close(cfg)
            self.today = before_day
        keep = [
            (d, v)
            for d, v in zip(self.days, self.levels, strict=True)
            if d > before_day - 1 - cfg.window_days
        ]
        return DailyLevels(np.array([d for d, _ in keep]), np.array([v for _, v in keep]))


class DegradationTracker:
    """Tracks one asset's vibration RMS (and companion features) and forecasts daily."""

    def __init__(
        self,
        site: str,
        asset: str,
        cfg: DegradationConfig,
        rms_metric: str = "vibration.rms",
        feature_metrics: tuple[str, ...] = ("vibration.rms", "vibration.peak"),
    ) -> None:
        self.site, self.asset, self.cfg = site, asset, cfg
        self.rms_metric = rms_metric
        self.metrics = {m: _DailySeries() for m in {rms_metric, *feature_metrics}}
        self.last_day = math.nan
        self.status = "cold start: no readings yet"
        self.ignored = 0  # non-finite, non-positive or unknown-metric readings
        self.last: tuple[DailyLevels, Forecast] | None = None

    def observe(self, metric: str, ts: float, value: float) -> None:
        series = self.metrics.get(metric)
        if series is None or not (math.isfinite(ts) and math.isfinite(value) and value > 0):
            self.ignored += 1
            return
        series.add(math.floor(ts / DAY_S), ts, value, self.cfg)

    def poll(self, now: float) -> tuple[list[DerivedSignal], Forecast | None]:
        """Signals once per new day (empty otherwise or in cold start) and the forecast made."""
        day = math.floor(now / DAY_S)
        if day == self.last_day:
            return [], None
        self.last_day = day
        levels = {m: s.completed(day, self.cfg) for m, s in self.metrics.items()}
        fc = forecast_levels(levels[self.rms_metric], self.cfg)
        self.last = (levels[self.rms_metric], fc)
        self.status = f"{fc.state}: {fc.reason}"
        top = feature_trends_from_levels(levels, self.cfg)
        return to_signals(self.site, self.asset, fc, now, top), fc

    def trend_png(self, horizon_days: float = 30.0) -> bytes | None:
        """PNG of the last forecast's daily levels and trend (None before any forecast)."""
        if self.last is None or self.last[1].state == "cold_start":
            return None
        levels, fc = self.last
        slope = fc.slope_per_day if fc.state == "degrading" else 0.0
        png: bytes = trend_png(
            levels.day,
            levels.level,
            self.cfg.limits,
            slope_per_day=slope,
            level_now=fc.level,
            horizon_days=horizon_days,
        )
        return png
