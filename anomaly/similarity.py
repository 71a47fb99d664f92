"""Similarity-based state model (in the manner of MSET), with a drift screen.

A healthy training window is kept as a memory of standardised state
vectors. A new row's anomaly score is its mean distance to its
``n_neighbors`` nearest remembered states, averaged causally over the last
``smooth`` rows and divided by the threshold, so 1.0 is the alarm level:
``margin`` times the ``quantile`` of the same score on the training rows
(each training row scored against the others, leave-one-out).

Drift screen: a channel whose training window is dominated by slow
variation (a motor or fluid temperature warming up, say) has a normal range
that the window cannot show, and any later level looks new to a level-based
model: on SKAB such channels alone raise most of the false alarms. The
screen measures each channel's slow share, ``var(block means) / var(rows)``
over consecutive blocks of ``block`` rows (about ``1 / block`` for white
noise, near 1 for a smooth trend), and leaves channels above
``max_slow_share`` out of the model. ``columns_`` names those kept; if
none passes, the one with the lowest ratio is kept.

Rate guard: a screened channel still raises the score when it moves faster
than it ever did in training: ``|x_t - x_{t - rate_lag}|`` over
``rate_margin`` times the largest such change in the training rows (so a
sudden heating is seen, a slow warm-up is not). ``rate_margin=inf`` turns
the guard off. The row's score is the larger of the two, both in units of
their own alarm level.

Scoring one row at a time (the daemon's scorer): the smoothing and the rate
guard look back over earlier rows, so a one-row batch would silently skip
both. :attr:`context_rows` says how many rows (the one to score last) a batch
needs for its last score to equal the score of the full series there.

Estimator contract: parameters stored as given in ``__init__``; ``fit``
learns attributes ending in ``_``; ``score_samples`` has no side effects.
"""

from __future__ import annotations

import numpy as np
from gatewatch.anomaly.models import _check_2d, _impute
from gatewatch.anomaly.trend import FloatArray
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.neighbors import NearestNeighbors


def slow_share(x: FloatArray, block: int) -> FloatArray:
    """Per column: ``var(means of consecutive blocks) / var(rows)`` (``1 / block`` = white noise).

    Constant columns get 0. Needs at least two whole blocks.
    """
    x = _check_2d(x)
    n = x.shape[0] // block * block
    if block < 1 or n < 2 * block:
        raise ValueError(f"need at least two blocks of {block} rows, got {x.shape[0]} rows")
    means = x[:n].reshape(-1, block, x.shape[1]).mean(axis=1)
    total = x[:n].var(axis=0)
    safe = np.where(total > 0, total, 1.0)
    return np.asarray(np.where(total > 0, means.var(axis=0) / safe, 0.0))


def steady_columns(x: FloatArray, block: int, max_share: float) -> NDArray[np.int64]:
    """Indices of the columns whose slow share is at most ``max_share`` (at least one)."""
    ratio = slow_share(x, block)
    keep = np.flatnonzero(ratio <= max_share)
    return keep if keep.size else np.array([int(np.argmin(ratio))], dtype=np.int64)


def causal_mean(d: FloatArray, window: int) -> FloatArray:
    """Mean of the last ``window`` values at each position (fewer at the start)."""
    if window <= 1:
        return np.asarray(d, dtype=np.float64)
    c = np.cumsum(np.r_[0.0, d])
    end = np.arange(1, d.size + 1)
    k = np.minimum(end, window)
    return np.asarray((c[end] - c[end - k]) / k, dtype=np.float64)


def lagged_change(x: FloatArray, lag: int) -> FloatArray:
    """``x[t] - x[t - lag]`` per row; 0 for the first ``lag`` rows (nothing to compare with)."""
    out = np.zeros_like(x)
    if lag < x.shape[0]:
        out[lag:] = x[lag:] - x[:-lag]
    return out


class SimilarityModel(OutlierMixin, BaseEstimator):  # type: ignore[misc]
    """Nearest-neighbour distance to healthy training states; score 1.0 = threshold."""

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        quantile: float = 0.99,
        margin: float = 1.0,
        smooth: int = 5,
        block: int = 20,
        max_slow_share: float = 0.5,
        rate_lag: int = 60,
        rate_margin: float = 2.0,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.quantile = quantile
        self.margin = margin
        self.smooth = smooth
        self.block = block
        self.max_slow_share = max_slow_share
        self.rate_lag = rate_lag
        self.rate_margin = rate_margin

    def fit(self, x_in: FloatArray, y: object = None) -> SimilarityModel:
        """Learn the memory and the threshold from healthy rows only (``y`` is ignored)."""
        x = _impute(_check_2d(x_in))
        need = max(2 * self.block, self.n_neighbors + 2, self.rate_lag + 2)
        if x.shape[0] < need:
            raise ValueError(f"need at least {need} finite rows to fit, got {x.shape[0]}")
        self.n_features_in_ = x.shape[1]
        self.columns_ = steady_columns(x, self.block, self.max_slow_share)
        kept = x[:, self.columns_]
        self.center_ = np.median(kept, axis=0)
        std = kept.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        self.memory_ = (kept - self.center_) / self.scale_
        self.neighbors_ = NearestNeighbors(n_neighbors=self.n_neighbors).fit(self.memory_)
        self.threshold_ = self._threshold()
        self.slow_columns_ = np.setdiff1d(np.arange(x.shape[1]), self.columns_)
        self.rate_limit_ = self._rate_limit(x[:, self.slow_columns_])
        return self

    def _rate_limit(self, slow: FloatArray) -> FloatArray:
        """Per screened channel: ``rate_margin`` x its largest training change over the lag."""
        if slow.shape[1] == 0:
            return np.zeros(0)
        biggest = np.abs(lagged_change(slow, self.rate_lag)[self.rate_lag :]).max(axis=0)
        return np.asarray(self.rate_margin * np.where(biggest > 0, biggest, 1e-12))

    def _threshold(self) -> float:
        """``margin`` x the ``quantile`` of the leave-one-out training scores."""
        dist, _ = self.neighbors_.kneighbors(self.memory_, n_neighbors=self.n_neighbors + 1)
        loo = causal_mean(dist[:, 1:].mean(axis=1), self.smooth)  # column 0: the row itself
        level = float(np.quantile(loo, self.quantile))
        return self.margin * level if level > 0 else 1e-12

    def distances(self, x_in: FloatArray) -> FloatArray:
        """Unsmoothed mean distance of each row to its nearest training states (NaN -> centre)."""
        x = _check_2d(x_in, self.n_features_in_)[:, self.columns_]
        z = (np.where(np.isfinite(x), x, self.center_) - self.center_) / self.scale_
        dist, _ = self.neighbors_.kneighbors(z)
        return np.asarray(dist.mean(axis=1))

    def rate_scores(self, x_in: FloatArray) -> FloatArray:
        """Largest change of a screened channel over its limit, per row (0 with none or NaN)."""
        x = _check_2d(x_in, self.n_features_in_)[:, self.slow_columns_]
        if x.shape[1] == 0:
            return np.zeros(x.shape[0])
        change = np.nan_to_num(np.abs(lagged_change(x, self.rate_lag)), nan=0.0)
        return np.asarray((change / self.rate_limit_).max(axis=1))

    @property
    def context_rows(self) -> int:
        """Rows needed, ending with the row to score, for the last score to be exact."""
        return max(self.smooth, self.rate_lag + 1, 1)

    def contributions(self, x_in: FloatArray) -> FloatArray:
        """Per feature, its share of each row's squared distance to its nearest training states.

        Shares of a row add up to 1 (equal shares when the row sits exactly on
        its neighbours); channels left out by the drift screen get 0.
        """
        x = _check_2d(x_in, self.n_features_in_)[:, self.columns_]
        z = (np.where(np.isfinite(x), x, self.center_) - self.center_) / self.scale_
        _, idx = self.neighbors_.kneighbors(z)
        sq = ((z[:, None, :] - self.memory_[idx]) ** 2).sum(axis=1)
        total = sq.sum(axis=1, keepdims=True)
        even = np.full_like(sq, 1.0 / sq.shape[1])
        share = np.where(total > 0, sq / np.where(total > 0, total, 1.0), even)
        out = np.zeros((x.shape[0], self.n_features_in_))
        out[:, self.columns_] = share
        return out

    def score_samples(self, x_in: FloatArray) -> FloatArray:
        """Rows in time order; 1.0 = alarm level: max(smoothed distance, screened-channel rate)."""
        similarity = causal_mean(self.distances(x_in), self.smooth) / self.threshold_
        return np.maximum(similarity, self.rate_scores(x_in))

    def predict(self, x_in: FloatArray) -> FloatArray:
        """-1 for rows over the threshold, 1 otherwise (scikit-learn's convention)."""
        return np.where(self.score_samples(x_in) > 1.0, -1, 1)
