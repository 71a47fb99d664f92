"""Robust trend of a slowly degrading quantity: daily levels, Theil-Sen, steps.

Vibration grows roughly exponentially as a bearing wears, so trends are
fitted on the natural log of the daily level: a slope of 0.02 per day is
+2 %/day, and the time to reach a limit is ``ln(limit / level) / slope``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import theilslopes

DAY_S = 86_400.0
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DailyLevels:
    """One robust level (median) per day that had enough valid readings."""

    day: FloatArray  # day number (UTC days since the epoch)
    level: FloatArray


@dataclass(frozen=True, slots=True)
class TrendFit:
    """Theil-Sen fit of ``ln(level)`` against the day number."""

    slope: float  # per day, in log units (0.01 = +1 %/day)
    slope_low: float  # lower edge of the confidence band
    slope_high: float
    level_now: float  # fitted level on the last day of the fit
    last_day: float
    n_days: int


def daily_levels(ts: FloatArray, values: FloatArray, *, min_per_day: int = 1) -> DailyLevels:
    """Median of the finite, positive values of each UTC day with ``min_per_day`` of them."""
    ts = np.asarray(ts, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(ts) & np.isfinite(values) & (values > 0)
    day = np.floor(ts[ok] / DAY_S)
    vals = values[ok]
    if day.size == 0:
        return DailyLevels(np.empty(0), np.empty(0))
    order = np.argsort(day, kind="stable")
    day, vals = day[order], vals[order]
    starts = np.flatnonzero(np.r_[True, np.diff(day) > 0])
    counts = np.diff(np.r_[starts, day.size])
    medians = np.array([np.median(c) for c in np.split(vals, starts[1:])])
    keep = counts >= min_per_day
    return DailyLevels(day[starts][keep], medians[keep])


def fit_log_trend(levels: DailyLevels, *, confidence: float = 0.9) -> TrendFit:
    """Theil-Sen slope of ``ln(level)`` with its ``confidence`` band (needs >= 3 days)."""
    if levels.day.size < 3:
        raise ValueError(f"a trend needs at least 3 days of levels, got {levels.day.size}")
    y = np.log(levels.level)
    slope, intercept, low, high = theilslopes(y, levels.day, alpha=confidence, method="joint")
    last = float(levels.day[-1])
    return TrendFit(
        slope=float(slope),
        slope_low=float(low),
        slope_high=float(high),
        level_now=float(math.exp(intercept + slope * last)),
        last_day=last,
        n_days=int(levels.day.size),
    )


def days_to_reach(level_now: float, limit: float, slope: float) -> float:
    """Days until an exponential trend from ``level_now`` reaches ``limit`` (inf if never)."""
    if level_now >= limit:
        return 0.0
    if slope <= 0 or not math.isfinite(slope):
        return math.inf
    return math.log(limit / level_now) / slope


def step_start(
    levels: DailyLevels,
    *,
    min_left: int = 2,
    min_right: int = 4,
    ratio: float = 0.5,
    hinge_ratio: float = 0.75,
) -> int | None:
    """Index where a level step (e.g. a sensor swap) starts, or None if a trend fits better.

    Compares a one-break piecewise-constant model (segment medians) with a
    straight Theil-Sen line on ``ln(level)``: a step is reported when its
    absolute residual is under ``ratio`` times the line's and ``hinge_ratio``
    times a continuous hinge's (flat, then rising from the break), so that the onset
    of an exponential rise is not mistaken for a step.
    """
    y = np.log(levels.level)
    n = y.size
    if n < min_left + min_right:
        return None
    trend_err = _line_abs_residual(levels.day, y)
    best_k, best_err = None, math.inf
    for k in range(min_left, n - min_right + 1):
        err = _step_abs_residual(y, k)
        if err < best_err:
            best_k, best_err = k, err
    if best_k is None or best_err >= ratio * trend_err:
        return None
    hinge_err = _hinge_abs_residual(levels.day, y, best_k)
    return best_k if best_err < hinge_ratio * hinge_err else None


def _hinge_abs_residual(x: FloatArray, y: FloatArray, k: int) -> float:
    base = float(np.median(y[:k]))
    dx = x[k:] - x[k - 1]
    slope = float(np.median((y[k:] - base) / dx))
    return float(np.abs(y[:k] - base).sum() + np.abs(y[k:] - base - slope * dx).sum())


def _line_abs_residual(x: FloatArray, y: FloatArray) -> float:
    slope, intercept, _, _ = theilslopes(y, x)
    return float(np.abs(y - (intercept + slope * x)).sum())


def _step_abs_residual(y: FloatArray, k: int) -> float:
    left, right = y[:k], y[k:]
    return float(np.abs(left - np.median(left)).sum() + np.abs(right - np.median(right)).sum())
