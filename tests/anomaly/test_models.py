from __future__ import annotations

import numpy as np
import pytest
from gatewatch.anomaly.models import AssetModel, RobustBaseline
from sklearn.base import clone

DAY = 86_400.0


def daily_series(days: int, rng: np.random.Generator) -> np.ndarray:
    ts = np.arange(0, days * DAY, 600.0)
    value = 20 + 3 * np.sin(2 * np.pi * ts / DAY) + rng.normal(0, 0.2, ts.size)
    return np.column_stack([ts, value])


def test_baseline_learns_the_daily_profile_and_flags_off_profile_values() -> None:
    rng = np.random.default_rng(0)
    model = RobustBaseline().fit(daily_series(14, rng))
    assert model.expected(np.array([6 * 3600.0 + 1800]))[0] == pytest.approx(23.0, abs=0.2)
    # 21 C is normal at midnight (expected 20 + ~0.4) but 5 sigma low at 06:00 (expected 23)
    probe = np.array([[0.0 + 1800, 20.4], [6 * 3600.0 + 1800, 21.0]])
    z = model.score_samples(probe)
    assert z[0] < 2
    assert z[1] > 4
    assert model.predict(probe).tolist() == [1, -1]


def test_baseline_survives_nan_and_a_constant_series() -> None:
    x = np.column_stack([np.arange(0, 3 * DAY, 600.0), np.full(432, 5.0)])
    x[::7, 1] = np.nan
    model = RobustBaseline().fit(x)
    assert np.isfinite(model.scale_).all()
    assert model.score_samples(np.array([[100.0, 5.0]]))[0] == 0.0
    assert model.score_samples(np.array([[100.0, 5.1]]))[0] > 4


def test_estimator_contract_params_stored_fit_learns_underscored_attrs() -> None:
    model = AssetModel(quantile=0.95, margin=2.0, smooth=3)
    assert model.get_params() == {"quantile": 0.95, "margin": 2.0, "smooth": 3}
    assert not hasattr(model, "threshold_")
    twin = clone(model)
    assert twin.get_params() == model.get_params()


def test_asset_model_scores_shifted_rows_above_threshold_without_side_effects() -> None:
    rng = np.random.default_rng(1)
    mix = np.array([[1, 0.5, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 2.0]])
    train = rng.normal(0, 1, (400, 4)) @ mix
    model = AssetModel(smooth=1).fit(train)
    before = model.precision_.copy()
    normal = model.score_samples(rng.normal(0, 1, (400, 4)) @ mix)
    shifted = model.score_samples(train[:50] + np.array([0, 0, 10.0, 0]))
    assert np.mean(normal > 1) < 0.05
    assert np.all(shifted > 1)
    np.testing.assert_array_equal(model.precision_, before)


def test_asset_model_refuses_too_few_rows_and_wrong_width() -> None:
    with pytest.raises(ValueError, match="at least 10 finite rows"):
        AssetModel().fit(np.ones((5, 2)))
    model = AssetModel().fit(np.random.default_rng(2).normal(size=(50, 3)))
    with pytest.raises(ValueError, match=r"\(rows, 3\)"):
        model.score_samples(np.ones((4, 2)))


def test_asset_model_constant_column_does_not_divide_by_zero() -> None:
    x = np.random.default_rng(3).normal(size=(100, 3))
    x[:, 1] = 7.0
    model = AssetModel().fit(x)
    assert np.isfinite(model.score_samples(x)).all()


def test_seasonal_ewma_learns_each_hour_once_a_day_and_waits_for_enough_days() -> None:
    from gatewatch.anomaly.models import SeasonalEwma

    model = SeasonalEwma(alpha=0.5, min_count=2)
    six = 3600.0 * 6
    model.update(six + 10, 22.0)
    model.update(six + 20, 24.0)  # day 0 mean 23
    model.update(DAY + six + 10, 25.0)  # commits day 0; day 1 pending
    assert np.isnan(model.expected(DAY + six + 50))  # one day learnt: not enough
    model.update(DAY, float("nan"))  # ignored
    model.update(2 * DAY + six, 99.0)  # commits day 1 (25): 23 + 0.5 * (25 - 23)
    assert model.expected(2 * DAY + six + 60) == pytest.approx(24.0)  # today's 99 not used yet
    assert np.isnan(model.expected(3600.0 * 7))  # another hour: nothing learnt


def test_asset_model_fills_gaps_with_the_column_median() -> None:
    x = np.random.default_rng(5).normal(size=(100, 3))
    x[:30, 2] = np.nan  # a feature that started later
    x[50, :] = np.nan  # a window with nothing: dropped
    x[:, 1][::7] = np.inf
    model = AssetModel().fit(x)
    assert np.isfinite(model.precision_).all()
    assert np.isfinite(model.score_samples(x)).all()
