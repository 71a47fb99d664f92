"""A causal one-pass detector of subsequences never seen before (used for NAB, usable live).

Each value is scored before anything is learnt from it, in four stages:

1. :class:`SubsequenceDistance`: the Euclidean distance from the last
   ``window`` values to the nearest earlier subsequence of the same length
   that ended within the last ``history`` rows and does not overlap them
   (a left discord: 0 while there is nothing to compare with);
2. :class:`~gatewatch.anomaly.benchmark.likelihood.MedianRatio`: that distance over
   ``scale`` times the median of the recent distances, clipped at 1 and
   raised to ``power`` (pure noise stays near 0, a new shape reaches 1);
3. :class:`~gatewatch.anomaly.benchmark.likelihood.AnomalyLikelihood`: Numenta's
   anomaly likelihood of those raw scores, as a log score in [0, 1];
4. a value beyond the range seen so far by more than ``tolerance`` of that
   range scores 1 (NAB's ``numenta`` detector does the same); after a
   score of at least ``report``, the next ``quiet`` rows score 0 (one
   incident, one report).

Nothing is scored during the first ``learning`` rows. Memory is bounded by
``history`` (values and distances), and one step costs O(window * history).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from gatewatch.anomaly.benchmark.likelihood import AnomalyLikelihood, MedianRatio
from gatewatch.anomaly.trend import FloatArray


@dataclass(slots=True)
class SubsequenceDistance:
    window: int = 8
    history: int = 3000
    _buf: FloatArray = field(default_factory=lambda: np.empty(0))
    _len: int = 0

    def step(self, x: float) -> float:
        """Append ``x``, then the distance of the newest subsequence to its nearest neighbour."""
        self._append(x)
        return self._nearest()

    def _append(self, x: float) -> None:
        keep = self.history + 2 * self.window
        if self._buf.size == 0:
            self._buf = np.empty(2 * keep)
        if self._len == self._buf.size:  # compact: keep only what the next steps can reach
            self._buf[:keep] = self._buf[self._len - keep : self._len]
            self._len = keep
        self._buf[self._len] = x
        self._len += 1

    def _nearest(self) -> float:
        m, v, t = self.window, self._buf, self._len - 1
        lo, hi = max(m - 1, t - self.history), t - m  # ends of the candidate subsequences
        if hi < lo:
            return 0.0
        acc = np.zeros(hi - lo + 1)
        for k in range(m):
            acc += (v[lo - k : hi + 1 - k] - v[t - k]) ** 2
        return math.sqrt(float(acc.min()))


@dataclass(slots=True)
class DiscordDetector:
    learning: int = 150
    window: int = 8
    history: int = 3000
    scale: float = 6.0
    power: float = 2.0
    tolerance: float = 0.05
    report: float = 0.5
    quiet: int = 150
    _distance: SubsequenceDistance = field(init=False)
    _ratio: MedianRatio = field(init=False)
    _likelihood: AnomalyLikelihood = field(init=False)
    _lo: float = math.inf
    _hi: float = -math.inf
    _seen: int = 0
    _quiet_left: int = 0

    def __post_init__(self) -> None:
        self._distance = SubsequenceDistance(self.window, self.history)
        self._ratio = MedianRatio(scale=self.scale, power=self.power)
        self._likelihood = AnomalyLikelihood(learning=self.learning)

    def step(self, x: float) -> float:
        """Score ``x`` in [0, 1] (0 for NaN and during learning), then learn from it."""
        if not math.isfinite(x):
            return 0.0
        likelihood = self._likelihood.step(self._ratio.step(self._distance.step(x)))
        out = self._out_of_range(x)
        self._seen += 1
        if self._seen <= self.learning:
            return 0.0
        return self._gate(1.0 if out else likelihood)

    def _out_of_range(self, x: float) -> bool:
        span = self._hi - self._lo
        margin = self.tolerance * span
        out = span > 0 and not self._lo - margin <= x <= self._hi + margin
        self._lo, self._hi = min(self._lo, x), max(self._hi, x)
        return out

    def _gate(self, score: float) -> float:
        if self._quiet_left > 0:
            self._quiet_left -= 1
            return 0.0
        if score >= self.report:
            self._quiet_left = self.quiet
        return score
