"""Models with scikit-learn's estimator contract.

Parameters are stored as given in ``__init__``; ``fit`` learns attributes
ending in ``_``; ``score_samples`` and ``predict`` have no side effects.
Scores are scaled so that 1.0 is the model's own alarm threshold, learnt
from the training (healthy) data only, never from labels.

- :class:`RobustBaseline`: one series, median and MAD per slot of a daily
  (or any) period: seasonality without being fooled by outliers.
- :class:`AssetModel`: all of an asset's features together: standardised
  by robust statistics, then the squared Mahalanobis distance under a
  Ledoit-Wolf shrunk covariance (stable with few healthy rows), smoothed
  causally over ``smooth`` rows.
"""

from __future__ import annotations

import math

import numpy as np
from gatewatch.anomaly.trend import FloatArray
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.covariance import LedoitWolf

MAD_TO_SIGMA = 1.4826


def _check_2d(x: FloatArray, n_cols: int | None = None) -> FloatArray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or (n_cols is not None and x.shape[1] != n_cols):
        want = f"(rows, {n_cols})" if n_cols is not None else "(rows, features)"
        raise ValueError(f"expected a 2-D array shaped {want}, got {x.shape}")
    return x


def _impute(x: FloatArray) -> FloatArray:
    """Rows with at least one finite value; gaps filled with the column median (0 if none)."""
    x = x[np.isfinite(x).any(axis=1)] if x.size else x
    finite = np.isfinite(x)
    if finite.all():
        return x
    counts = finite.sum(axis=0)
    sums = np.where(finite, x, 0.0)
    medians = np.array(
        [np.median(sums[finite[:, j], j]) if counts[j] else 0.0 for j in range(x.shape[1])]
    )
    return np.where(finite, x, medians)


class RobustBaseline(OutlierMixin, BaseEstimator):  # type: ignore[misc]
    """Seasonal median/MAD baseline of one series. ``X`` columns: timestamp (s), value."""

    def __init__(
        self, period_s: float = 86_400.0, n_slots: int = 24, min_per_slot: int = 10
    ) -> None:
        self.period_s = period_s
        self.n_slots = n_slots
        self.min_per_slot = min_per_slot

    def _slot(self, ts: FloatArray) -> FloatArray:
        return np.floor((ts % self.period_s) / self.period_s * self.n_slots).astype(np.int64)

    def fit(self, x_in: FloatArray, y: object = None) -> RobustBaseline:
        x = _check_2d(x_in, 2)
        x = x[np.isfinite(x).all(axis=1)]
        if x.shape[0] < self.min_per_slot:
            raise ValueError(
                f"need at least {self.min_per_slot} finite rows to fit, got {x.shape[0]}"
            )
        overall = np.median(x[:, 1])
        overall_mad = np.median(np.abs(x[:, 1] - overall))
        slots = self._slot(x[:, 0])
        self.median_ = np.full(self.n_slots, overall)
        self.mad_ = np.full(self.n_slots, overall_mad)
        for s in range(self.n_slots):
            v = x[slots == s, 1]
            if v.size >= self.min_per_slot:
                self.median_[s] = np.median(v)
                self.mad_[s] = np.median(np.abs(v - self.median_[s]))
        floor = max(float(np.median(self.mad_)), 1e-9 * max(abs(float(overall)), 1.0), 1e-12)
        self.scale_ = MAD_TO_SIGMA * np.maximum(self.mad_, floor)
        self.n_features_in_ = 2
        return self

    def expected(self, ts: FloatArray) -> FloatArray:
        """The baseline's expected value at each timestamp (e.g. for a temperature residual)."""
        return np.asarray(self.median_[self._slot(np.asarray(ts, dtype=np.float64))])

    def score_samples(self, x_in: FloatArray) -> FloatArray:
        """Robust |z| of each value against its slot (NaN stays NaN)."""
        x = _check_2d(x_in, 2)
        slots = self._slot(np.nan_to_num(x[:, 0]))
        return np.asarray(np.abs(x[:, 1] - self.median_[slots]) / self.scale_[slots])

    def predict(self, x_in: FloatArray, z: float = 4.0) -> FloatArray:
        """-1 for outliers (|z| > ``z``), 1 otherwise (scikit-learn's convention)."""
        return np.where(self.score_samples(x_in) > z, -1, 1)


class AssetModel(OutlierMixin, BaseEstimator):  # type: ignore[misc]
    """Multivariate model of one asset's features; score 1.0 = threshold."""

    def __init__(self, quantile: float = 0.99, margin: float = 1.5, smooth: int = 5) -> None:
        self.quantile = quantile
        self.margin = margin
        self.smooth = smooth

    def fit(self, x_in: FloatArray, y: object = None) -> AssetModel:
        x = _impute(_check_2d(x_in))
        if x.shape[0] < max(10, 2 * x.shape[1]):
            raise ValueError(
                f"need at least {max(10, 2 * x.shape[1])} finite rows, got {x.shape[0]}"
            )
        self.center_ = np.median(x, axis=0)
        spread = MAD_TO_SIGMA * np.median(np.abs(x - self.center_), axis=0)
        std = x.std(axis=0)
        self.scale_ = np.where(spread > 0, spread, np.where(std > 0, std, 1.0))
        z = (x - self.center_) / self.scale_
        cov = LedoitWolf().fit(z)
        self.location_ = cov.location_
        self.precision_ = cov.precision_
        self.n_features_in_ = x.shape[1]
        self.threshold_ = 1.0
        raw = self._smoothed(z)
        self.threshold_ = self.margin * float(np.quantile(raw, self.quantile))
        return self

    def _distance(self, z: FloatArray) -> FloatArray:
        d = z - self.location_
        return np.asarray(np.einsum("ij,jk,ik->i", d, self.precision_, d))

    def _smoothed(self, z: FloatArray) -> FloatArray:
        d = self._distance(z)
        if self.smooth <= 1:
            return d
        c = np.cumsum(np.r_[0.0, d])
        k = np.minimum(np.arange(1, d.size + 1), self.smooth)
        return np.asarray((c[1:] - c[np.arange(1, d.size + 1) - k]) / k, dtype=np.float64)

    def score_samples(self, x_in: FloatArray) -> FloatArray:
        """Causally smoothed distance over the threshold (NaN imputed by the centre)."""
        x = _check_2d(x_in, self.n_features_in_)
        z = (np.where(np.isfinite(x), x, self.center_) - self.center_) / self.scale_
        return self._smoothed(z) / self.threshold_

    def predict(self, x_in: FloatArray) -> FloatArray:
        return np.where(self.score_samples(x_in) > 1.0, -1, 1)

    def contributions(self, x_in: FloatArray) -> FloatArray:
        """Share of each feature in each row's (unsmoothed) distance: ``z_i (P z)_i``.

        The shares of a row add up to its squared distance, so the largest
        ones name the features that make the row unusual.
        """
        x = _check_2d(x_in, self.n_features_in_)
        z = (np.where(np.isfinite(x), x, self.center_) - self.center_) / self.scale_
        d = z - self.location_
        return np.asarray(d * (d @ self.precision_))


class SeasonalEwma:
    """Online expected value per slot of a period (e.g. hour of day), learnt once a period.

    The values of a slot are averaged over each period (day); when the slot
    comes round again, that mean updates the slot's EWMA (``alpha`` per
    period), so the profile does not drift within the hour it is judging and
    does not depend on the reading rate. ``expected(ts)`` is NaN until the
    slot has ``min_count`` periods behind it.
    """

    def __init__(
        self, period_s: float = 86_400.0, n_slots: int = 24, alpha: float = 0.3, min_count: int = 3
    ) -> None:
        self.period_s, self.n_slots = period_s, n_slots
        self.alpha, self.min_count = alpha, min_count
        self.level_ = np.full(n_slots, np.nan)
        self.count_ = np.zeros(n_slots, dtype=np.int64)
        self._pending: dict[int, tuple[float, float, int]] = {}  # slot -> (period, sum, n)

    def _slot(self, ts: float) -> tuple[int, float]:
        period = math.floor(ts / self.period_s)
        return int((ts - period * self.period_s) / self.period_s * self.n_slots), period

    def update(self, ts: float, value: float) -> None:
        if not (math.isfinite(ts) and math.isfinite(value)):
            return
        slot, period = self._slot(ts)
        pending = self._pending.get(slot)
        if pending is not None and pending[0] != period:
            self._commit(slot, pending[1] / pending[2])
            pending = None
        total, n = (pending[1], pending[2]) if pending else (0.0, 0)
        self._pending[slot] = (period, total + value, n + 1)

    def _commit(self, slot: int, mean: float) -> None:
        old = self.level_[slot]
        self.level_[slot] = mean if np.isnan(old) else old + self.alpha * (mean - old)
        self.count_[slot] += 1

    def expected(self, ts: float) -> float:
        slot, _ = self._slot(ts)
        return float(self.level_[slot]) if self.count_[slot] >= self.min_count else math.nan
