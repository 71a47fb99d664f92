"""Benchmark scoring, reimplemented from the published protocols (no upstream code).

- SKAB outlier detection: F1 = TP / (TP + (FP + FN) / 2), FAR and MAR in %.
- SKAB changepoint detection: the NAB-style score of TSAD's ``chp_score``
  with a window of ``window_s`` to the right of each true changepoint.
- NAB: the sweeper of ``nab/sweeper.py`` (scaled-sigmoid weights, earliest
  detection per window, probationary period), a corpus-wide threshold per
  profile, and the null/perfect normalisation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from gatewatch.anomaly.trend import FloatArray
from numpy.typing import NDArray

IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    tp: float
    fp: float
    fn: float


# (A_tp, A_fp, A_fn) of the SKAB changepoint profiles; NAB's come from config/profiles.json.
SKAB_PROFILES = (
    Profile("standard", 1.0, -0.11, -1.0),
    Profile("low_fp", 1.0, -0.22, -1.0),
    Profile("low_fn", 1.0, -0.11, -2.0),
)


@dataclass(frozen=True, slots=True)
class Outliers:
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def f1(self) -> float:
        denom = self.tp + (self.fp + self.fn) / 2
        return self.tp / denom if denom else 0.0

    @property
    def far(self) -> float:
        return 100.0 * self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0

    @property
    def mar(self) -> float:
        return 100.0 * self.fn / (self.fn + self.tp) if self.fn + self.tp else 0.0


def outlier_counts(truth: NDArray[np.bool_], pred: NDArray[np.bool_]) -> Outliers:
    t, p = np.asarray(truth, bool), np.asarray(pred, bool)
    return Outliers(
        int(np.sum(t & p)), int(np.sum(~t & p)), int(np.sum(~t & ~p)), int(np.sum(t & ~p))
    )


@dataclass(frozen=True, slots=True)
class ChangepointScore:
    raw: float
    windows: int
    missed: int
    false_positives: int


def changepoint_score(
    ts: FloatArray,
    true_cp: FloatArray,
    pred: NDArray[np.bool_],
    profile: Profile,
    window_s: float = 60.0,
) -> ChangepointScore:
    """Raw NAB-style score of one file: ``cp = |diff(pred)|`` (``cp[0] = pred[0]``) vs true cps."""
    p = np.asarray(pred, dtype=np.int8)
    cp_ts = np.asarray(ts)[np.r_[p[0], np.abs(np.diff(p))] == 1]
    windows = _right_windows(np.sort(np.asarray(true_cp, dtype=np.float64)), window_s)
    raw, missed, inside = 0.0, 0, np.zeros(cp_ts.size, bool)
    for start, end in windows:
        hit = (cp_ts >= start) & (cp_ts <= end)
        inside |= hit
        if not hit.any():
            raw += profile.fn
            missed += 1
            continue
        raw += _tanh_reward(float(cp_ts[hit][0]), start, end, profile)
    fps = int((~inside).sum())
    return ChangepointScore(raw + fps * profile.fp, len(windows), missed, fps)


def _right_windows(cps: FloatArray, width: float) -> list[tuple[float, float]]:
    """[t, t + width] per changepoint; a window overlapping the previous one is cut to
    start where the previous one ends (TSAD's "cut right window": the shared
    instant belongs to both)."""
    out: list[tuple[float, float]] = []
    for t in cps:
        start = float(t)
        if out and start <= out[-1][1]:
            start = out[-1][1]
        out.append((start, float(t) + width))
    return out


def _tanh_reward(t_det: float, start: float, end: float, profile: Profile) -> float:
    event = int((t_det - start) / (end - start) * 1000) if end > start else 0
    x = float(np.linspace(-math.pi / 2, math.pi / 2, 1000)[min(event, 999)])
    scale = 1 - math.tanh(x) / math.tanh(math.pi / 2)
    return (profile.tp - profile.fp) / 2 * scale + profile.fp


def normalised(raw: float, windows: int, profile: Profile) -> float:
    """100 (S - S_null) / (S_perfect - S_null) with S_null = n A_fn (A_fn < 0 for SKAB)."""
    null, perfect = windows * -abs(profile.fn), windows * profile.tp
    return 100.0 * (raw - null) / (perfect - null) if windows else 0.0


# ---- NAB --------------------------------------------------------------------------


def _scaled_sigmoid(position: float) -> float:
    return -1.0 if position >= 3.0 else 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


@dataclass(frozen=True, slots=True)
class NabRows:
    """Per-row weights of one file for one profile, as the NAB sweeper assigns them."""

    window: IntArray  # window number, -1 outside windows, -2 in the probationary period
    weight: FloatArray  # TP reward inside a window, FP cost (negative) outside
    n_windows: int  # windows that have at least one scorable row


def nab_rows(
    timestamps: Sequence[str], windows: Sequence[tuple[str, str]], profile: Profile
) -> NabRows:
    """Sweep one file: window membership and scaled-sigmoid weight of every row."""
    ts = list(timestamps)
    n = len(ts)
    window = np.full(n, -1, dtype=np.int64)
    weight = np.zeros(n)
    max_tp = _scaled_sigmoid(-1.0)
    pending = list(windows)
    cur: tuple[int, int] | None = None  # (window number, right index)
    prev: tuple[int, float] | None = None  # (right index, width)
    number = 0
    for i, stamp in enumerate(ts):
        if cur is None and pending and stamp == pending[0][0]:
            left, right = pending.pop(0)
            cur = (number, ts.index(right))
            width = float(cur[1] - ts.index(left) + 1)
            number += 1
        if cur is not None:
            window[i] = cur[0]
            weight[i] = _scaled_sigmoid(-(cur[1] - i + 1) / width) * profile.tp / max_tp
        else:
            past = 3.0 if prev is None else abs(prev[0] - i) / (prev[1] - 1)
            weight[i] = _scaled_sigmoid(past) * profile.fp
        if cur is not None and i == cur[1]:
            prev, cur = (i, width), None
    probation = int(min(math.floor(0.15 * n), 0.15 * 5000))
    window[:probation] = -2
    scorable = np.unique(window[window >= 0]).size
    return NabRows(window, weight, scorable)


def nab_raw_score(rows: NabRows, scores: FloatArray, threshold: float, profile: Profile) -> float:
    """Raw score of one file at ``threshold`` (a row detects when its score >= threshold)."""
    det = (np.asarray(scores) >= threshold) & (rows.window != -2)
    raw = float(rows.weight[det & (rows.window == -1)].sum())
    for w in np.unique(rows.window[rows.window >= 0]):
        hit = det & (rows.window == w)
        raw += float(rows.weight[hit].max()) if hit.any() else -profile.fn
    return raw


def nab_normalised(raw: float, n_windows: int, profile: Profile) -> float:
    null = -profile.fn * n_windows
    return 100.0 * (raw - null) / (n_windows * profile.tp - null) if n_windows else 0.0


def best_threshold(
    files: Sequence[tuple[NabRows, FloatArray]], profile: Profile, grid: FloatArray | None = None
) -> tuple[float, float]:
    """Corpus-wide threshold maximising the summed raw score (NAB's optimize step).

    Without ``grid`` every distinct score is tried, as NAB's
    ``sweeper.calcScoreByThreshold`` does; with ``grid`` only those values.
    """
    if grid is not None:
        return _best_on_grid(files, profile, grid)
    score, weight, window = _scorable_rows(files)
    order = np.argsort(-score, kind="stable")
    score, weight, window = score[order], weight[order], window[order]
    n_windows = int(np.unique(window[window >= 0]).size)
    total = -profile.fn * n_windows
    best, earliest = (1.1, total), dict[int, float]()
    last_of_level = np.r_[score[1:] != score[:-1], True]
    for i in range(score.size):
        total += _gain(earliest, int(window[i]), float(weight[i]), profile)
        if last_of_level[i] and total > best[1]:
            best = (float(score[i]), total)
    return best


def _gain(earliest: dict[int, float], window: int, weight: float, profile: Profile) -> float:
    """Change in raw score when a row of ``window`` (-1: none) becomes a detection."""
    if window < 0:
        return weight
    old = earliest.get(window)
    if old is None:
        earliest[window] = weight
        return weight + profile.fn
    earliest[window] = max(old, weight)  # the earliest row of a window has the largest weight
    return max(0.0, weight - old)


def _scorable_rows(
    files: Sequence[tuple[NabRows, FloatArray]],
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Score, weight and corpus-wide window number of every row past the probation."""
    scores, weights, windows, offset = [], [], [], 0
    for rows, s in files:
        keep = rows.window != -2
        w = rows.window[keep].copy()
        w[w >= 0] += offset
        offset += int(rows.window.max()) + 1 if rows.window.max() >= 0 else 0
        scores.append(np.asarray(s, dtype=np.float64)[keep])
        weights.append(rows.weight[keep])
        windows.append(w)
    return np.concatenate(scores), np.concatenate(weights), np.concatenate(windows)


def _best_on_grid(
    files: Sequence[tuple[NabRows, FloatArray]], profile: Profile, grid: FloatArray
) -> tuple[float, float]:
    best = (1.1, -math.inf)
    for th in grid:
        raw = sum(nab_raw_score(rows, s, float(th), profile) for rows, s in files)
        if raw > best[1]:
            best = (float(th), raw)
    return best
