"""Degradation forecast: when will a machine's vibration enter ISO 10816 zone C and D?

Pure: timestamps and values (and a clock, ``now``) in; a :class:`Forecast`
and :class:`DerivedSignal` values out. The forecast is deliberately
conservative so that healthy machines stay quiet:

- cold start: no signal until ``min_days`` days with enough readings exist
  (after the last step change, if any);
- a level step (sensor swap, re-mounting) restarts the history instead of
  being read as a trend;
- a finite ``days_to_zone_c`` needs a trend over the whole window whose
  confidence band is above zero; the steeper of that trend and the one of the
  last ``short_days`` days (so that a recent onset is not averaged away) then
  gives the forecast, if its own band is above zero and its central slope is
  at least ``min_slope_per_day``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from gatewatch.anomaly.trend import (
    DAY_S,
    DailyLevels,
    FloatArray,
    TrendFit,
    daily_levels,
    days_to_reach,
    fit_log_trend,
    step_start,
)
from gatewatch.anomaly.wear.zones import ZoneLimits
from gatewatch.core.signals import DAYS_TO_ZONE_C, DAYS_TO_ZONE_D, DerivedSignal

COLD_START, STABLE, DEGRADING = "cold_start", "stable", "degrading"


@dataclass(frozen=True, slots=True)
class DegradationConfig:
    limits: ZoneLimits
    min_days: int = 14  # days of history before any forecast (cold start)
    window_days: int = 28  # trailing days used for the trend
    min_per_day: int = 12  # readings a day needs to count
    confidence: float = 0.9  # of the slope band
    min_slope_per_day: float = 0.003  # 0.3 %/day: slower is "stable"
    short_days: int = 10  # once the long trend rises, the last days alone give its rate

    def __post_init__(self) -> None:
        if not 3 <= self.short_days <= self.min_days <= self.window_days:
            raise ValueError("need 3 <= short_days <= min_days <= window_days")
        if not 0 < self.confidence < 1:
            raise ValueError("confidence must be in (0, 1)")


@dataclass(frozen=True, slots=True)
class Forecast:
    state: str  # cold_start, stable or degrading
    reason: str
    n_days: int
    current_zone: str = ""
    level: float = math.nan  # fitted current RMS, mm/s
    slope_per_day: float = math.nan  # relative, 0.01 = +1 %/day
    slope_band: tuple[float, float] = (math.nan, math.nan)
    days_to_c: tuple[float, float, float] = (math.inf, math.inf, math.inf)  # central, early, late
    days_to_d: tuple[float, float, float] = (math.inf, math.inf, math.inf)


def forecast(ts: FloatArray, values: FloatArray, cfg: DegradationConfig, now: float) -> Forecast:
    """Forecast from readings (RMS velocity, mm/s) up to ``now``; later readings are ignored."""
    return forecast_levels(_window_levels(ts, values, cfg, now), cfg)


def _window_levels(
    ts: FloatArray, values: FloatArray, cfg: DegradationConfig, now: float
) -> DailyLevels:
    ts = np.asarray(ts, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    recent = (ts <= now) & (ts > now - cfg.window_days * DAY_S)
    return daily_levels(ts[recent], values[recent], min_per_day=cfg.min_per_day)


def forecast_levels(levels: DailyLevels, cfg: DegradationConfig) -> Forecast:
    """Forecast from daily levels already restricted to the trailing window."""
    levels, stepped = _after_last_step(levels)
    if levels.day.size < cfg.min_days:
        why = "history restarted after a level step (sensor swap?)" if stepped else "history"
        return Forecast(COLD_START, f"{why}: {levels.day.size} of {cfg.min_days} days", 0)
    long = _from_fit(fit_log_trend(levels, confidence=cfg.confidence), cfg)
    if long.slope_band[0] <= 0 or levels.day.size <= cfg.short_days:
        return long
    short = DailyLevels(levels.day[-cfg.short_days :], levels.level[-cfg.short_days :])
    return min(
        long,
        _from_fit(fit_log_trend(short, confidence=cfg.confidence), cfg),
        key=lambda f: f.days_to_c[0],
    )


def _after_last_step(levels: DailyLevels) -> tuple[DailyLevels, bool]:
    k = step_start(levels)
    if k is None:
        return levels, False
    return DailyLevels(levels.day[k:], levels.level[k:]), True


def _from_fit(fit: TrendFit, cfg: DegradationConfig) -> Forecast:
    lim = cfg.limits
    rising = fit.slope_low > 0 and fit.slope >= cfg.min_slope_per_day
    slopes = (fit.slope, fit.slope_high, fit.slope_low) if rising else (0.0, 0.0, 0.0)
    to_c = tuple(days_to_reach(fit.level_now, lim.bc, s) for s in slopes)
    to_d = tuple(days_to_reach(fit.level_now, lim.cd, s) for s in slopes)
    state = DEGRADING if rising else STABLE
    reason = f"trend {100 * fit.slope:+.2f} %/day over {fit.n_days} days"
    return Forecast(
        state,
        reason,
        fit.n_days,
        current_zone=lim.zone(fit.level_now),
        level=fit.level_now,
        slope_per_day=fit.slope,
        slope_band=(fit.slope_low, fit.slope_high),
        days_to_c=(to_c[0], to_c[1], to_c[2]),
        days_to_d=(to_d[0], to_d[1], to_d[2]),
    )


def feature_trends(
    series: Mapping[str, tuple[FloatArray, FloatArray]], cfg: DegradationConfig, now: float
) -> list[tuple[str, float]]:
    """Relative daily trend of each feature series, strongest rise first (cold ones left out)."""
    levels = {name: _window_levels(ts, v, cfg, now) for name, (ts, v) in series.items()}
    return feature_trends_from_levels(levels, cfg)


def feature_trends_from_levels(
    levels: Mapping[str, DailyLevels], cfg: DegradationConfig
) -> list[tuple[str, float]]:
    out = []
    for name, lv in levels.items():
        f = forecast_levels(lv, cfg)
        if f.state != COLD_START:
            out.append((name, f.slope_per_day))
    return sorted(out, key=lambda item: item[1], reverse=True)


def to_signals(
    site: str,
    asset: str,
    fc: Forecast,
    now: float,
    top_features: list[tuple[str, float]] | None = None,
) -> list[DerivedSignal]:
    """``days_to_zone_c`` and ``days_to_zone_d`` signals with their evidence; none in cold start."""
    if fc.state == COLD_START:
        return []
    base = _evidence(fc, now, top_features or [])
    return [
        DerivedSignal(site, asset, name, now, days[0], MappingProxyType(base | _dates(days, now)))
        for name, days in ((DAYS_TO_ZONE_C, fc.days_to_c), (DAYS_TO_ZONE_D, fc.days_to_d))
    ]


def _evidence(fc: Forecast, now: float, top: list[tuple[str, float]]) -> dict[str, str | float]:
    low, high = fc.slope_band
    return {
        "state": fc.state,
        "trend_pct_per_day": round(100 * fc.slope_per_day, 3),
        "trend_band_pct_per_day": f"{100 * low:+.2f} .. {100 * high:+.2f}",
        "current_zone": fc.current_zone,
        "current_rms_mm_s": round(fc.level, 3),
        "history_days": fc.n_days,
        "top_features": ", ".join(f"{n} {100 * s:+.2f} %/day" for n, s in top[:3]),
        "reason": fc.reason,
    }


def _dates(days: tuple[float, float, float], now: float) -> dict[str, str | float]:
    return {
        "forecast_date": _date(now, days[0]),
        "forecast_band": f"{_date(now, days[1])} .. {_date(now, days[2])}",
    }


def _date(now: float, days: float) -> str:
    if not math.isfinite(days):
        return "never"
    return dt.datetime.fromtimestamp(now + days * DAY_S, tz=dt.UTC).date().isoformat()
