from __future__ import annotations

import numpy as np
import pytest
from gatewatch.anomaly.similarity import (
    SimilarityModel,
    causal_mean,
    lagged_change,
    slow_share,
    steady_columns,
)
from sklearn.base import clone


def healthy(rows: int, seed: int = 0) -> np.ndarray:
    """Three correlated noisy channels around an operating point."""
    rng = np.random.default_rng(seed)
    load = rng.normal(0, 1, rows)
    return np.column_stack(
        [10 + load + rng.normal(0, 0.3, rows), 5 - 0.5 * load, rng.normal(2, 0.1, rows)]
    ) + rng.normal(0, 0.05, (rows, 3))


def test_slow_share_by_hand() -> None:
    x = np.array([[0.0, 5.0], [0.0, 5.0], [1.0, 5.0], [1.0, 5.0]])
    # blocks of 2: means 0 and 1 (var 0.25), rows var 0.25 -> 0.25 / 0.25; constant -> 0
    assert slow_share(x, 2).tolist() == [1.0, 0.0]
    white = np.random.default_rng(1).normal(size=(4000, 1))
    assert slow_share(white, 20)[0] == pytest.approx(1 / 20, abs=0.015)
    with pytest.raises(ValueError, match="two blocks of 20 rows"):
        slow_share(white[:30], 20)


def test_steady_columns_leave_out_a_smooth_trend_but_keep_at_least_one() -> None:
    rng = np.random.default_rng(2)
    ramp = np.linspace(70, 80, 400) + rng.normal(0, 0.05, 400)
    x = np.column_stack([rng.normal(size=400), ramp, rng.normal(size=400)])
    assert steady_columns(x, 20, 0.5).tolist() == [0, 2]
    assert steady_columns(x[:, [1]], 20, 0.5).tolist() == [0]


def test_causal_mean_by_hand() -> None:
    got = causal_mean(np.array([1.0, 3.0, 5.0, 7.0]), 2)
    assert got.tolist() == [1.0, 2.0, 4.0, 6.0]
    assert causal_mean(np.array([1.0, 3.0]), 1).tolist() == [1.0, 3.0]


def test_a_known_shift_is_flagged_and_healthy_rows_are_not() -> None:
    model = SimilarityModel().fit(healthy(400))
    normal = healthy(600, seed=5)
    shifted = normal.copy()
    shifted[300:, 2] += 1.0  # 10 sigma on the quiet channel, nothing else changes
    assert np.mean(model.predict(normal) == -1) < 0.05
    flagged = model.predict(shifted) == -1
    assert flagged[310:].all()
    assert np.mean(flagged[:300]) < 0.05


def test_a_drifting_channel_is_screened_out_and_cannot_raise_alarms() -> None:
    rng = np.random.default_rng(3)
    x = healthy(1000, seed=3)
    warm = np.linspace(60, 70, 1000) + rng.normal(0, 0.02, 1000)  # warms up, never settles
    x = np.column_stack([x, warm])
    model = SimilarityModel().fit(x[:400])
    assert model.columns_.tolist() == [0, 1, 2]
    assert np.mean(model.predict(x[400:]) == -1) < 0.05  # 6 K past its training range


def test_a_sudden_jump_in_a_screened_channel_still_alarms_through_the_rate_guard() -> None:
    rng = np.random.default_rng(4)
    warm = np.linspace(60, 64, 1000) + rng.normal(0, 0.02, 1000)
    x = np.column_stack([healthy(1000, seed=4), warm])
    x[700:, 3] += 3.0  # 3 K in one step: 2.5x what the warm-up did in 60 rows
    model = SimilarityModel().fit(x[:400])
    assert model.slow_columns_.tolist() == [3]
    trend = 60 * 4 / 999  # the ramp's change over the lag, plus at most ~5 sigma of noise
    assert 2 * trend < model.rate_limit_[0] < 2 * (trend + 5 * 0.02 * np.sqrt(2))
    rate = model.rate_scores(x)
    assert (rate[700:760] > 1).all()  # the jump is in the 60-row lag for 60 rows
    assert (rate[400:700] < 1).all()
    flagged = model.predict(x) == -1
    assert flagged[700:760].all()
    assert np.mean(flagged[400:700]) < 0.05  # the model's own q99 level, nothing more
    off = SimilarityModel(rate_margin=np.inf).fit(x[:400])
    assert np.mean(off.predict(x[700:760]) == -1) < 0.1  # without the guard: unseen


def test_lagged_change_by_hand() -> None:
    x = np.array([[1.0], [2.0], [4.0], [7.0]])
    assert lagged_change(x, 2)[:, 0].tolist() == [0.0, 0.0, 3.0, 5.0]
    assert lagged_change(x, 9)[:, 0].tolist() == [0.0] * 4


def test_estimator_contract_and_scoring_has_no_side_effects() -> None:
    model = SimilarityModel(n_neighbors=3, margin=1.2)
    assert model.get_params()["n_neighbors"] == 3
    assert clone(model).get_params() == model.get_params()
    assert not hasattr(model, "threshold_")
    model.fit(healthy(400), y=np.ones(400))  # y is ignored
    before = (model.threshold_, model.memory_.copy())
    probe = healthy(50, seed=9)
    first = model.score_samples(probe)
    assert np.array_equal(first, model.score_samples(probe))
    assert before[0] == model.threshold_
    assert np.array_equal(before[1], model.memory_)


def test_threshold_is_the_margin_times_the_training_quantile() -> None:
    x = healthy(400)
    one = SimilarityModel(margin=1.0).fit(x)
    two = SimilarityModel(margin=2.0).fit(x)
    assert two.threshold_ == pytest.approx(2 * one.threshold_)
    # brute force: each training row against the others, 5 nearest, causal mean of 5, q 0.99
    z = (x - np.median(x, axis=0)) / x.std(axis=0)
    d = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    loo = np.sort(d, axis=1)[:, :5].mean(axis=1)
    smoothed = [loo[max(0, i - 4) : i + 1].mean() for i in range(400)]
    assert one.threshold_ == pytest.approx(np.quantile(smoothed, 0.99))


def test_nan_rows_are_imputed_and_too_few_rows_refused() -> None:
    x = healthy(400)
    x[::17, 0] = np.nan
    model = SimilarityModel().fit(x)
    probe = healthy(20, seed=4)
    probe[3] = np.nan
    assert np.isfinite(model.score_samples(probe)).all()
    with pytest.raises(ValueError, match="need at least 62 finite rows"):
        SimilarityModel().fit(x[:30])
    with pytest.raises(ValueError, match=r"shaped \(rows, 3\)"):
        model.score_samples(np.ones((5, 2)))


def tiny(k: int = 2) -> SimilarityModel:
    """Memory (standardised) is the corners (+-1, +-1): centre 0.5, std 0.5."""
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    model = SimilarityModel(k, smooth=1, block=2, max_slow_share=1.0, rate_lag=1)
    return model.fit(x)


def test_contributions_by_hand() -> None:
    model = tiny()
    # [2, 1.5] -> z = [3, 2]; nearest corners [1, 1] (diff 2, 1) and [1, -1] (diff 2, 3)
    # squared differences per feature: 4 + 4 = 8 and 1 + 9 = 10 -> shares 8/18, 10/18
    share = model.contributions(np.array([[2.0, 1.5], [1.0, 1.25]]))
    np.testing.assert_allclose(share[0], [8 / 18, 10 / 18])
    # [1, 1.25] -> z = [1, 1.5]: nearest [1, 1] (diff 0, 0.5) and [-1, 1] (diff 2, 0.5)
    np.testing.assert_allclose(share[1], [4 / 4.5, 0.5 / 4.5])
    np.testing.assert_allclose(share.sum(axis=1), 1.0)


def test_contributions_give_screened_channels_nothing_and_exact_rows_even_shares() -> None:
    t = np.arange(400.0)
    x = np.column_stack([healthy(400), t / 10])  # last channel: a slow warm-up, screened
    model = SimilarityModel().fit(x)
    assert model.slow_columns_.tolist() == [3]
    share = model.contributions(x[:5] + np.array([0.0, 0.0, 3.0, 0.0]))
    assert (share[:, 3] == 0).all() and (share.argmax(axis=1) == 2).all()
    np.testing.assert_allclose(share.sum(axis=1), 1.0)
    on_a_state = tiny(k=1).contributions(np.array([[0.0, 0.0]]))  # distance 0
    assert on_a_state.tolist() == [[0.5, 0.5]]


def test_a_short_batch_of_context_rows_scores_its_last_row_like_the_whole_series() -> None:
    model = SimilarityModel(smooth=5, rate_lag=10).fit(healthy(400))
    x = healthy(120, seed=5)
    x[70:, 2] += 0.5
    full = model.score_samples(x)
    k = model.context_rows
    assert k == 11
    last = [model.score_samples(x[t - k + 1 : t + 1])[-1] for t in range(k, 120)]
    np.testing.assert_allclose(last, full[k:])
    assert model.score_samples(x[75:76])[0] != pytest.approx(full[75])  # one row alone differs
