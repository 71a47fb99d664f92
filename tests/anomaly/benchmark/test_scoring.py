from __future__ import annotations

import math

import numpy as np
import pytest
from gatewatch.anomaly.benchmark.scoring import (
    SKAB_PROFILES,
    Profile,
    best_threshold,
    changepoint_score,
    nab_normalised,
    nab_raw_score,
    nab_rows,
    normalised,
    outlier_counts,
)

STD, LOW_FP, LOW_FN = SKAB_PROFILES
NAB_STD = Profile("standard", 1.0, 0.11, 1.0)


def test_outlier_metrics_by_hand() -> None:
    truth = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool)
    pred = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0], bool)
    o = outlier_counts(truth, pred)
    assert (o.tp, o.fp, o.tn, o.fn) == (3, 1, 5, 1)
    assert o.f1 == pytest.approx(3 / (3 + 1))
    assert o.far == pytest.approx(100 / 6)
    assert o.mar == pytest.approx(25.0)


def tanh_reward(frac: float, p: Profile) -> float:
    x = float(np.linspace(-math.pi / 2, math.pi / 2, 1000)[int(frac * 1000)])
    return float((p.tp - p.fp) / 2 * (1 - math.tanh(x) / math.tanh(math.pi / 2)) + p.fp)


def test_changepoint_detected_at_window_start_earns_full_reward() -> None:
    ts = np.arange(300.0)
    pred = ts >= 100
    c = changepoint_score(ts, np.array([100.0]), pred, STD)
    assert c.raw == pytest.approx(1.0)
    assert normalised(c.raw, c.windows, STD) == pytest.approx(100.0)


def test_late_detection_and_false_positives_by_hand() -> None:
    ts = np.arange(300.0)
    pred = ((ts >= 10) & (ts < 20)) | (ts >= 130)  # cps at 10, 20 (outside) and 130 (in window)
    c = changepoint_score(ts, np.array([100.0]), pred, LOW_FP)
    assert c.false_positives == 2
    assert c.missed == 0
    assert c.raw == pytest.approx(tanh_reward(0.5, LOW_FP) + 2 * -0.22)


def test_missed_window_and_null_detector() -> None:
    ts = np.arange(300.0)
    none = np.zeros(300, bool)
    c = changepoint_score(ts, np.array([100.0, 200.0]), none, LOW_FN)
    assert (c.raw, c.missed) == (-4.0, 2)
    assert normalised(c.raw, c.windows, LOW_FN) == 0.0
    first_row = changepoint_score(ts, np.array([0.0]), np.ones(300, bool), STD)
    assert first_row.raw == pytest.approx(1.0)  # cp[0] = pred[0]


def test_overlapping_windows_are_cut_and_only_the_first_cp_counts() -> None:
    ts = np.arange(300.0)
    pred = np.zeros(300, bool)
    pred[100:105] = True  # cps at 100 and 105: both in the first window, second ignored
    c = changepoint_score(ts, np.array([100.0, 130.0]), pred, STD)
    assert c.false_positives == 0
    assert c.missed == 1  # the window of 130 starts after 160 and gets nothing
    assert c.raw == pytest.approx(1.0 - 1.0)


STAMPS = [f"t{i:03d}" for i in range(100)]
WINDOWS = [("t050", "t059")]


def test_nab_row_weights_follow_the_scaled_sigmoid() -> None:
    rows = nab_rows(STAMPS, WINDOWS, NAB_STD)
    assert rows.n_windows == 1
    assert (rows.window[:15] == -2).all()  # probation = floor(0.15 * 100)
    assert rows.weight[50] == pytest.approx(1.0)  # left edge: A_tp
    assert rows.weight[59] == pytest.approx((2 / (1 + math.exp(-0.5)) - 1) / 0.98661, rel=1e-4)
    assert rows.weight[30] == pytest.approx(-0.11)  # before any window: -A_fp
    after = 2 / (1 + math.exp(5 * (1 / 9))) - 1  # one row past a 10-row window
    assert rows.weight[60] == pytest.approx(0.11 * after)


@pytest.mark.parametrize(
    ("hits", "expected"),
    [([50], 1.0), ([30], -1.11), ([10], -1.0), ([55, 50, 52], 1.0), ([], -1.0)],
)
def test_nab_raw_score_by_hand(hits: list[int], expected: float) -> None:
    rows = nab_rows(STAMPS, WINDOWS, NAB_STD)
    scores = np.zeros(100)
    scores[hits] = 1.0
    assert nab_raw_score(rows, scores, 0.5, NAB_STD) == pytest.approx(expected)


def test_corpus_threshold_is_chosen_to_maximise_the_summed_score() -> None:
    rows = nab_rows(STAMPS, WINDOWS, NAB_STD)
    scores = np.zeros(100)
    scores[50], scores[30] = 0.9, 0.6
    th, raw = best_threshold([(rows, scores)], NAB_STD)
    assert 0.6 < th <= 0.9
    assert raw == pytest.approx(1.0)
    assert nab_normalised(raw, 1, NAB_STD) == pytest.approx(100.0)


def test_cut_window_shares_its_boundary_instant_with_the_previous_one() -> None:
    ts = np.arange(300.0)
    pred = np.zeros(300, bool)
    pred[160:] = True  # one cp at 160: end of window 1 and start of window 2
    c = changepoint_score(ts, np.array([100.0, 160.0]), pred, STD)
    assert (c.missed, c.false_positives) == (0, 0)
    assert c.raw == pytest.approx(tanh_reward(0.9999, STD) + 1.0)


def _random_file(seed: int) -> tuple[object, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = nab_rows(STAMPS, [("t030", "t039"), ("t070", "t079")], NAB_STD)
    return rows, np.round(rng.uniform(0, 1, 100), 2)  # ties on purpose


@pytest.mark.parametrize("seed", range(5))
def test_exact_sweep_matches_brute_force_over_every_distinct_score(seed: int) -> None:
    files = [_random_file(seed), _random_file(seed + 100)]
    th, raw = best_threshold(files, NAB_STD)  # type: ignore[arg-type]
    candidates = np.unique(np.concatenate([s for _, s in files]))
    brute = best_threshold(files, NAB_STD, grid=np.r_[candidates, 1.1])  # type: ignore[arg-type]
    assert raw == pytest.approx(brute[1])
    again = sum(nab_raw_score(r, s, th, NAB_STD) for r, s in files)  # type: ignore[arg-type]
    assert again == pytest.approx(raw)


def test_one_threshold_per_profile_is_shared_by_all_files() -> None:
    rows = nab_rows(STAMPS, WINDOWS, NAB_STD)
    a, b = np.zeros(100), np.zeros(100)
    a[50], a[20:30] = 0.9, 0.5  # alone: threshold in (0.5, 0.9] catches the window, no FP
    b[50] = 0.5  # alone: any threshold up to 0.5 is perfect
    assert best_threshold([(rows, a)], NAB_STD)[1] == pytest.approx(1.0)
    assert best_threshold([(rows, b)], NAB_STD)[1] == pytest.approx(1.0)
    th, raw = best_threshold([(rows, a), (rows, b)], NAB_STD)
    assert th == 0.5  # one value for both files: file a pays its 10 FPs so that b scores
    assert nab_raw_score(rows, a, th, NAB_STD) == pytest.approx(1.0 - 1.1)
    assert raw == pytest.approx(1.0 - 1.1 + 1.0)
