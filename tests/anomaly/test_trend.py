from __future__ import annotations

import math

import numpy as np
import pytest
from gatewatch.anomaly.trend import (
    DAY_S,
    DailyLevels,
    daily_levels,
    days_to_reach,
    fit_log_trend,
    step_start,
)


def test_daily_levels_are_medians_of_finite_positive_values_per_day() -> None:
    ts = np.array([0, 10, 20, DAY_S, DAY_S + 5, 2 * DAY_S], dtype=float)
    v = np.array([1.0, 3.0, 2.0, np.nan, 4.0, -1.0])
    lv = daily_levels(ts, v)
    assert lv.day.tolist() == [0.0, 1.0]
    assert lv.level.tolist() == [2.0, 4.0]
    assert daily_levels(ts, v, min_per_day=2).day.tolist() == [0.0]


def test_theil_sen_recovers_a_known_exponential_slope_with_outliers() -> None:
    day = np.arange(30, dtype=float)
    level = 1.5 * np.exp(0.02 * day)
    level[[5, 17]] *= 3.0  # two wild days do not move a robust fit
    fit = fit_log_trend(DailyLevels(day, level))
    assert fit.slope == pytest.approx(0.02, abs=1e-9)
    assert fit.slope_low <= 0.02 <= fit.slope_high
    assert fit.level_now == pytest.approx(1.5 * math.exp(0.02 * 29), rel=1e-6)


def test_days_to_reach_is_log_ratio_over_slope() -> None:
    assert days_to_reach(1.4, 2.8, 0.02) == pytest.approx(math.log(2) / 0.02)
    assert days_to_reach(3.0, 2.8, 0.02) == 0.0
    assert days_to_reach(1.4, 2.8, 0.0) == math.inf
    assert days_to_reach(1.4, 2.8, -0.01) == math.inf


def test_trend_needs_three_days() -> None:
    with pytest.raises(ValueError, match="at least 3 days"):
        fit_log_trend(DailyLevels(np.arange(2.0), np.ones(2)))


def test_step_is_found_but_an_exponential_onset_is_not_a_step() -> None:
    rng = np.random.default_rng(1)
    day = np.arange(24, dtype=float)
    noise = np.exp(rng.normal(0, 0.02, day.size))
    step = np.where(day < 15, 1.6, 2.3) * noise
    assert step_start(DailyLevels(day, step)) == 15
    hinge = 1.6 * np.exp(0.03 * np.clip(day - 14, 0, None)) * noise
    assert step_start(DailyLevels(day, hinge)) is None
    assert step_start(DailyLevels(day, np.full(day.size, 2.0))) is None
