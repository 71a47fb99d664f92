from __future__ import annotations

import math

import numpy as np
import pytest
from gatewatch.anomaly.trend import DAY_S
from gatewatch.anomaly.wear.degradation import (
    COLD_START,
    DEGRADING,
    STABLE,
    DegradationConfig,
    feature_trends,
    forecast,
    to_signals,
)
from gatewatch.anomaly.wear.zones import limits_for
from gatewatch.core.signals import DAYS_TO_ZONE_C, DAYS_TO_ZONE_D
from hypothesis import given, settings
from hypothesis import strategies as st

CFG = DegradationConfig(limits_for("II"))
T0 = 1_700_006_400.0  # a UTC midnight


def hourly(days: int, level: object) -> tuple[np.ndarray, np.ndarray]:
    ts = T0 + np.arange(days * 24) * 3600.0
    day = (ts - T0) / DAY_S
    return ts, np.asarray(level(day) if callable(level) else np.full(ts.size, level), dtype=float)


def test_known_exponential_gives_forecast_dates_of_zone_c_and_d() -> None:
    ts, v = hourly(28, lambda d: 1.4 * np.exp(0.02 * np.floor(d)))
    fc = forecast(ts, v, CFG, now=ts[-1])
    assert fc.state == DEGRADING
    assert fc.slope_per_day == pytest.approx(0.02, abs=1e-9)
    assert fc.current_zone == "B"
    level = 1.4 * math.exp(0.02 * 27)
    assert fc.days_to_c[0] == pytest.approx(math.log(2.8 / level) / 0.02, rel=1e-6)
    assert fc.days_to_d[0] == pytest.approx(math.log(7.1 / level) / 0.02, rel=1e-6)
    assert fc.days_to_c[1] <= fc.days_to_c[0] <= fc.days_to_c[2]


def test_signals_carry_the_evidence_a_ticket_needs() -> None:
    ts, v = hourly(28, lambda d: 1.4 * np.exp(0.02 * np.floor(d)))
    now = float(ts[-1])
    fc = forecast(ts, v, CFG, now)
    sigs = to_signals("hq", "pump-1", fc, now, [("rms", 0.02), ("peak", 0.025)])
    assert [s.metric for s in sigs] == [DAYS_TO_ZONE_C, DAYS_TO_ZONE_D]
    ev = sigs[0].evidence
    assert sigs[0].value == pytest.approx(fc.days_to_c[0])
    assert ev["current_zone"] == "B"
    assert ev["trend_pct_per_day"] == pytest.approx(2.0)
    assert ev["forecast_date"] == "2023-12-20"  # 2023-12-12 23:00 + 7.66 days
    assert " .. " in str(ev["forecast_band"])
    assert ev["top_features"] == "rms +2.00 %/day, peak +2.50 %/day"


def test_too_little_history_is_a_cold_start_without_signals() -> None:
    ts, v = hourly(10, lambda d: 1.4 * np.exp(0.05 * d))
    fc = forecast(ts, v, CFG, now=ts[-1])
    assert fc.state == COLD_START
    assert "10 of 14 days" in fc.reason
    assert to_signals("hq", "p", fc, ts[-1]) == []


def test_constant_series_is_stable_and_never_reaches_zone_c() -> None:
    ts, v = hourly(40, 2.0)
    fc = forecast(ts, v, CFG, now=ts[-1])
    assert fc.state == STABLE
    assert fc.days_to_c == (math.inf, math.inf, math.inf)
    assert to_signals("hq", "p", fc, ts[-1])[0].value == math.inf


def test_nan_zero_negative_and_gaps_do_not_crash_or_flag() -> None:
    rng = np.random.default_rng(3)
    ts, v = hourly(40, lambda d: 1.6 * np.exp(rng.normal(0, 0.05, d.size)))
    v[rng.random(v.size) < 0.3] = np.nan
    v[::17] = 0.0
    v[::23] = -4.0
    v[(ts > T0 + 10 * DAY_S) & (ts < T0 + 20 * DAY_S)] = np.nan  # ten days without data
    for now in ts[:: 24 * 3]:
        fc = forecast(ts, v, CFG, float(now))
        assert fc.state in (COLD_START, STABLE)
    only_nan = np.full(ts.size, np.nan)
    assert forecast(ts, only_nan, CFG, float(ts[-1])).state == COLD_START


def test_sensor_swap_step_restarts_history_instead_of_flagging() -> None:
    ts, v = hourly(60, lambda d: np.where(d < 30, 1.6, 2.5))
    for day in range(31, 60):
        fc = forecast(ts, v, CFG, T0 + day * DAY_S)
        assert fc.state in (COLD_START, STABLE), day
        assert not fc.days_to_c[0] < math.inf
    assert "level step" in forecast(ts, v, CFG, T0 + 36 * DAY_S).reason


def test_feature_trends_rank_the_steepest_rise_first() -> None:
    ts, rms = hourly(28, lambda d: 1.4 * np.exp(0.02 * np.floor(d)))
    _, peak = hourly(28, lambda d: 4.0 * np.exp(0.03 * np.floor(d)))
    _, crest = hourly(28, 3.0)
    got = feature_trends({"rms": (ts, rms), "peak": (ts, peak), "crest": (ts, crest)}, CFG, ts[-1])
    assert [name for name, _ in got] == ["peak", "rms", "crest"]


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError, match="short_days <= min_days <= window_days"):
        DegradationConfig(limits_for("I"), min_days=40)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(min_value=0.5, max_value=5.0),
        ),
        min_size=0,
        max_size=24 * 20,
    )
)
def test_forecast_never_crashes_on_arbitrary_values(values: list[float]) -> None:
    v = np.array(values, dtype=float)
    ts = T0 + np.arange(v.size) * 3600.0
    fc = forecast(ts, v, CFG, now=T0 + 20 * DAY_S)
    assert fc.state in (COLD_START, STABLE, DEGRADING)
    for sig in to_signals("hq", "p", fc, T0):
        assert sig.value >= 0
