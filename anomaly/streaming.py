"""Causal one-pass detector for a single stream (used for NAB, usable live).

Each value is scored before it is learnt from, so no row sees the future:

1. a prediction error: ``|x - ewma| / ew_std`` with exponentially weighted
   mean and variance (``alpha``);
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


def score_stream(values: FloatArray, detector: StreamDetector | None = None) -> FloatArray:
    """Run a fresh detector over ``values`` in order; one score per value."""
    det = detector or StreamDetector()
    return np.array([det.step(float(v)) for v in values])
