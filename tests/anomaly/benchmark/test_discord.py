from __future__ import annotations

import math

import numpy as np
import pytest
from gatewatch.anomaly.benchmark.discord import DiscordDetector, SubsequenceDistance
from gatewatch.anomaly.benchmark.likelihood import AnomalyLikelihood, MedianRatio, Ring, log_score
from gatewatch.anomaly.benchmark.streaming import score_stream


def seasonal(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 10 + 3 * np.sin(2 * math.pi * t / 48) + rng.normal(0, 0.2, n)


def brute_nearest(x: np.ndarray, t: int, m: int, history: int) -> float:
    cur = x[t - m + 1 : t + 1]
    ends = range(max(m - 1, t - history), t - m + 1)
    return min((math.dist(cur, x[j - m + 1 : j + 1]) for j in ends), default=0.0)


def test_subsequence_distance_matches_brute_force_across_buffer_compactions() -> None:
    x = np.random.default_rng(3).normal(0, 1, 400)
    d = SubsequenceDistance(window=5, history=40)  # buffer of 100 values: compacts 4 times
    got = [d.step(float(v)) for v in x]
    want = [brute_nearest(x, t, 5, 40) if t >= 4 else 0.0 for t in range(400)]
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_median_ratio_compares_with_the_median_of_the_last_values() -> None:
    r = MedianRatio(history=3, scale=2.0, power=2.0)
    got = [r.step(v) for v in (5.0, 1.0, 3.0, 8.0, 12.0, 0.0)]
    # upper medians of [5], [1 5], [1 3 5], [1 3 8] (5 dropped: history 3), [3 8 12]
    assert got == pytest.approx([0.0, (1 / 10) ** 2, (3 / 10) ** 2, 1.0, 1.0, 0.0])
    flat = MedianRatio()
    assert [flat.step(v) for v in (0.0, 0.0, 0.0, 0.5)] == [0.0, 0.0, 0.0, 1.0]


def test_likelihood_reports_the_first_red_row_of_a_run_then_yellow() -> None:
    lik = AnomalyLikelihood(learning=200)
    rng = np.random.default_rng(0)
    calm = [lik.step(float(v)) for v in rng.uniform(0, 0.1, 300)]
    assert calm[:200] == [0.0] * 200  # learning
    assert max(calm) < 0.5
    burst = [lik.step(1.0) for _ in range(20)]
    assert sum(s >= 0.5 for s in burst) == 1  # one red row, the run stays yellow
    assert min(burst[burst.index(max(burst)) + 1 :]) == pytest.approx(log_score(1e-3))


@pytest.mark.parametrize(("future", "history"), [(1, 3000), (37, 3000), (600, 3000), (600, 100)])
def test_discord_detector_is_causal(future: int, history: int) -> None:
    x = seasonal(1600)
    x[1000:1030] = 10.0
    full = score_stream(x, DiscordDetector(learning=300, history=history))  # 100: buffer wraps
    cut = 1600 - future
    past = score_stream(x[:cut], DiscordDetector(learning=300, history=history))
    np.testing.assert_array_equal(past, full[:cut])  # appending the future changes no past score


def test_discord_detector_flags_a_level_shift_at_once_and_then_keeps_quiet() -> None:
    x = seasonal(2000)
    x[1500:] += 4.0  # beyond the range seen so far
    s = score_stream(x, DiscordDetector(learning=300, quiet=0))
    assert (s[:300] == 0).all()
    assert s[1500] == 1.0
    quiet = score_stream(x, DiscordDetector(learning=300, quiet=150))
    reports = np.flatnonzero(quiet >= 0.5)
    assert reports.size
    assert all((quiet[r + 1 : r + 151] == 0).all() for r in reports)  # one incident, one report
    assert (np.diff(reports) > 150).all()


@pytest.mark.parametrize("seed", range(3))
def test_discord_detector_flags_changes_inside_the_range_seen(seed: int) -> None:
    x = seasonal(3000, seed=seed)
    x[2000:2100] = 10 + np.random.default_rng(2).normal(0, 0.2, 100)  # the cycle stops
    s = score_stream(x, DiscordDetector(learning=450, quiet=0))
    assert s[2000:2010].max() >= 0.5
    y = seasonal(3000, seed=seed)
    y[2000:] += 1.0  # a small shift that stays inside the range
    s = score_stream(y, DiscordDetector(learning=450, quiet=0))
    assert s[2000:2030].max() >= 0.5


def test_a_value_beyond_the_range_seen_scores_one() -> None:
    x = seasonal(1200)
    x[900] = 40.0
    s = score_stream(x, DiscordDetector(learning=300))
    assert s[900] == 1.0


def test_discord_detector_survives_nan_constant_and_short_series() -> None:
    x = np.full(1000, 3.0)
    x[::50] = np.nan
    s = score_stream(x, DiscordDetector(learning=100))
    assert np.isfinite(s).all()
    assert (s < 0.5).all()
    assert (score_stream(np.array([1.0, np.inf, 2.0]), DiscordDetector()) == 0).all()


def test_ring_keeps_the_last_values_in_order_and_returns_what_it_overwrites() -> None:
    r = Ring(3)
    assert [r.push(v) for v in (1.0, 2.0, 3.0, 4.0, 5.0)] == [None, None, None, 1.0, 2.0]
    assert len(r) == 3
    assert r.ordered().tolist() == [3.0, 4.0, 5.0]
    r.ordered()[0] = 99.0  # a copy
    assert r.ordered().tolist() == [3.0, 4.0, 5.0]
