"""Per-asset degradation tracking for the daemon: readings in, daily signals out.

Memory is bounded and flat: one median per completed day for
``window_days`` days and, for the day in progress, the sum and count of each
UTC minute (two arrays of 1440, whatever the reading rate). The daily level
is the median of those per-minute means: at up to one reading a minute it is
exactly the median of the readings (what
:func:`gatewatch.anomaly.trend.daily_levels` computes on the stored history);
at higher rates each minute is first averaged, which only shrinks the noise
around the same level, and the median across minutes still ignores a fault
burst shorter than half a day. Once per UTC day (on the first reading or
poll after midnight) the tracker forecasts and returns the
``days_to_zone_c`` / ``days_to_zone_d`` signals; during cold start it returns
no signal and its :attr:`DegradationTracker.status` says why (for the log).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from gatewatch.anomaly.trend import DAY_S, DailyLevels, FloatArray
from gatewatch.anomaly.wear.degradation import (
    DegradationConfig,
    Forecast,
    feature_trends_from_levels,
    forecast_levels,
    to_signals,
)
from gatewatch.anomaly.wear.plot import trend_png
from gatewatch.core.signals import DerivedSignal
from numpy.typing import NDArray

IntArray = NDArray[np.int32]

MINUTES = 1440  # a UTC day


@dataclass(slots=True)
class _DailySeries:
    """Completed daily medians plus the sum and count of each minute of the day in
    progress: two fixed arrays (17 KiB), allocated at the first reading, reused daily."""

    days: list[float] = field(default_factory=list)
    levels: list[float] = field(default_factory=list)
    today: float = math.nan
    sums: FloatArray | None = None  # per minute of today
    counts: IntArray | None = None
    late: int = 0  # readings for a day already closed (ignored)

    def add(self, day: float, ts: float, value: float, cfg: DegradationConfig) -> None:
        if not math.isnan(self.today) and day < self.today:
            self.late += 1
            return
        if day != self.today:
            self.close(cfg)
            self.today = day
        if self.sums is None or self.counts is None:
            self.sums, self.counts = np.zeros(MINUTES), np.zeros(MINUTES, dtype=np.int32)
        minute = min(MINUTES - 1, int((ts - day * DAY_S) // 60))
        self.sums[minute] += value
        self.counts[minute] += 1

    def close(self, cfg: DegradationConfig) -> None:
        if self.sums is None or self.counts is None:
            return
        seen = self.counts > 0
        if int(self.counts.sum()) >= cfg.min_per_day:
            self.days.append(self.today)
            self.levels.append(float(np.median(self.sums[seen] / self.counts[seen])))
        self.sums.fill(0.0)
        self.counts.fill(0)
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
