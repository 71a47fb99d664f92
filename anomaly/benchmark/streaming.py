"""Causal one-pass detector for a single stream (used for NAB, usable live).

Each value is scored before it is learnt from, so no row sees the future:

1. a prediction error: ``|x - ewma| / ew_std`` with exponentially weighted
   mean and variance (``alpha``), updated with the deviation winsorised at
   3 sigma so that one outlier does not blow the scale up;
2. an anomaly likelihood in the manner of Numenta's HTM detector: how
   unusual the short-term mean of the errors (last ``short`` rows) is
   against their long-term mean and spread (last ``long`` rows), as a
   Gaussian tail probability;
3. a score in [0, 1]: ``-log10(1 - likelihood) / 10`` so that the
   interesting tail (0.999... ) spreads over the range;
4. after a row scores at least ``report``, the next ``quiet`` rows score 0:
   one incident, one report, as the rule engine does with ``for``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from gatewatch.anomaly.trend import FloatArray


@dataclass(slots=True)
class StreamDetector:
    alpha: float = 0.02
    short: int = 10
    long: int = 500
    report: float = 0.5
    quiet: int = 100
    learning: int = 150  # rows before any score (the detector is still learning)
    _mean: float = math.nan
    _var: float = 0.0
    _errors: deque[float] = field(default_factory=deque)
    _seen: int = 0
    _quiet_left: int = 0

    def step(self, x: float) -> float:
        """Score ``x`` (0 for NaN and during learning), then learn from it."""
        if not math.isfinite(x):
            return 0.0
        err = self._error(x)
        self._learn(x)
        self._errors.append(err)
        if len(self._errors) > self.long:
            self._errors.popleft()
        self._seen += 1
        if self._seen <= self.learning:
            return 0.0
        return self._gate(self._likelihood_score())

    def _error(self, x: float) -> float:
        if math.isnan(self._mean):
            return 0.0
        scale = math.sqrt(self._var) + 1e-9 * max(abs(self._mean), 1.0)
        return abs(x - self._mean) / scale

    def _learn(self, x: float) -> None:
        if math.isnan(self._mean):
            self._mean = x
            return
        d = x - self._mean
        if self._var > 0:  # winsorise: an outlier moves the estimates as a 3-sigma value would
            limit = 3 * math.sqrt(self._var)
            d = max(-limit, min(limit, d))
        self._mean += self.alpha * d
        self._var = (1 - self.alpha) * (self._var + self.alpha * d * d)

    def _likelihood_score(self) -> float:
        errs = np.fromiter(self._errors, dtype=np.float64)
        spread = float(errs.std()) or 1e-9
        z = (float(errs[-self.short :].mean()) - float(errs.mean())) / spread
        tail = 0.5 * math.erfc(z / math.sqrt(2))  # 1 - likelihood
        return min(1.0, -math.log10(max(tail, 1e-300)) / 10.0)

    def _gate(self, score: float) -> float:
        if self._quiet_left > 0:
            self._quiet_left -= 1
            return 0.0
        if score >= self.report:
            self._quiet_left = self.quiet
        return score


class OnlineDetector(Protocol):
    """A detector that scores each value before it learns from it."""

    def step(self, x: float) -> float: ...


def score_stream(values: FloatArray, detector: OnlineDetector | None = None) -> FloatArray:
    """Run a fresh detector over ``values`` in order; one score per value."""
    det = detector or StreamDetector()
    return np.array([det.step(float(v)) for v in values])


@dataclass(slots=True)
class RelativeEntropyDetector:
    """Multiple-hypothesis relative-entropy test (Wang et al., 2011, Figure 1).

    The values of the last ``window`` rows are quantised into ``bins`` over
    the stream's known value range and compared with every histogram seen
    before ("hypotheses") by the relative-entropy (multinomial goodness of
    fit) statistic ``2 W KL(P_hat || P_i)`` against the chi-squared quantile
    at ``alpha``. No agreeing hypothesis: anomalous, and the window becomes
    a new hypothesis; an agreeing hypothesis seen at most ``min_count``
    times: anomalous too. Scores are 0 or 1. NAB's detector of the same
    name uses bins 5, window 52, alpha 0.01, min_count 1 (the defaults).
    """

    lo: float
    hi: float
    bins: int = 5
    window: int = 52
    alpha: float = 0.01
    min_count: int = 1
    _recent: deque[float] = field(default_factory=deque)
    _hypotheses: FloatArray = field(default_factory=lambda: np.empty((0, 0)))
    _counts: list[int] = field(default_factory=list)
    _limit: float = math.nan

    def step(self, x: float) -> float:
        if not math.isfinite(x) or self.hi <= self.lo:
            return 0.0
        self._recent.append(x)
        if len(self._recent) > self.window:
            self._recent.popleft()
        if len(self._recent) < self.window:
            return 0.0
        return self._test(self._histogram())

    def _histogram(self) -> FloatArray:
        step = (self.hi - self.lo) / self.bins
        b = np.ceil((np.fromiter(self._recent, dtype=np.float64) - self.lo) / step)
        # bins [0,1) [1,2) ... [bins-1, bins], as numpy.histogram over range (0, bins)
        idx = np.clip(b, 0, self.bins - 1).astype(np.int64)
        inside = (b >= 0) & (b <= self.bins)
        counts = np.bincount(idx[inside], minlength=self.bins).astype(np.float64)
        return np.asarray(counts / max(counts.sum(), 1.0), dtype=np.float64)

    def _add(self, p_hat: FloatArray) -> None:
        m = len(self._counts)
        if m == self._hypotheses.shape[0]:
            grown = np.zeros((max(8, 2 * m), self.bins))
            if m:
                grown[:m] = self._hypotheses[:m]
            self._hypotheses = grown
        self._hypotheses[m] = p_hat
        self._counts.append(1)

    def _test(self, p_hat: FloatArray) -> float:
        if not self._counts:
            self._add(p_hat)
            return 0.0
        best = self._agreeing(p_hat)
        if best is None:
            self._add(p_hat)
            return 1.0
        self._counts[best] += 1
        return 1.0 if self._counts[best] <= self.min_count else 0.0

    def _agreeing(self, p_hat: FloatArray) -> int | None:
        if math.isnan(self._limit):
            from scipy.stats import chi2

            self._limit = float(chi2.isf(self.alpha, self.bins - 1))
        stats = 2 * self.window * _kl_rows(p_hat, self._hypotheses[: len(self._counts)])
        best = int(np.argmin(stats))
        return best if stats[best] < self._limit else None


def _kl_rows(p: FloatArray, q: FloatArray) -> FloatArray:
    """KL(p || q_i) for every row q_i of ``q`` (inf where q_i misses p's support)."""
    support = p > 0
    ps, qs = p[support], q[:, support]
    with np.errstate(divide="ignore"):
        terms = ps * np.log(ps / qs)
    return np.asarray(terms.sum(axis=1))
