"""Turning a raw anomaly score into a likelihood, causally (after Numenta's HTM detector).

:class:`AnomalyLikelihood` follows ``nupic.algorithms.anomaly_likelihood``
as NAB's ``numenta`` detector uses it: the raw scores (in [0, 1]) are
averaged over the last ``average`` rows; a Gaussian is fitted to those
averages over the last ``history`` rows (re-fitted every ``refit`` rows,
mean at least 0.03 and variance at least 0.0003); the tail probability of
the current average under it, reflected about the mean, gives the
likelihood; only the first row of a run in the red zone (tail <= 1e-5)
keeps its value, the rest of the run drops to the yellow level (1e-3); the
output is ``log(1 - likelihood) / log(1e-10)`` in [0, 1] (0.5 means a tail
of 1e-5). Before ``learning`` rows it outputs 0.

:class:`MedianRatio` turns any error into a raw score in [0, 1]: the error
over ``scale`` times the median of the last ``history`` errors, clipped at
1 and raised to ``power``, so the likelihood sees the same scale whatever
the units of the stream, and errors within the usual spread stay near 0.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from gatewatch.anomaly.trend import FloatArray

RED, YELLOW = 1e-5, 1e-3
MIN_MEAN, MIN_VARIANCE = 0.03, 0.0003
LOG_1E_10 = math.log(1e-10)


def log_score(tail: float) -> float:
    """NAB's ``computeLogLikelihood`` of ``likelihood = 1 - tail``, in [0, 1]."""
    return min(1.0, math.log(1.0000000001 - (1.0 - tail)) / LOG_1E_10)


def gaussian_tail(x: float, mean: float, stdev: float) -> float:
    """Tail probability of ``x`` beyond ``mean``, reflected when below it (Numenta's)."""
    z = abs(x - mean) / stdev
    return 0.5 * math.erfc(z / math.sqrt(2.0))


@dataclass(slots=True)
class Ring:
    """The last ``size`` floats in one fixed numpy buffer (8 bytes a value)."""

    size: int
    _buf: FloatArray = field(init=False)
    _count: int = 0

    def __post_init__(self) -> None:
        self._buf = np.empty(max(1, self.size))

    def __len__(self) -> int:
        return min(self._count, self._buf.size)

    def push(self, x: float) -> float | None:
        """Keep ``x``; return the value it overwrote, if the ring was full."""
        i = self._count % self._buf.size
        old = float(self._buf[i]) if self._count >= self._buf.size else None
        self._buf[i] = x
        self._count += 1
        return old

    def ordered(self) -> FloatArray:
        """The values kept, oldest first (a copy)."""
        if self._count <= self._buf.size:
            return self._buf[: self._count].copy()
        i = self._count % self._buf.size
        return np.concatenate((self._buf[i:], self._buf[:i]))


@dataclass(slots=True)
class AnomalyLikelihood:
    learning: int = 150
    average: int = 10
    history: int = 8640
    refit: int = 100
    _recent: deque[float] = field(default_factory=deque)
    _averages: Ring = field(init=False)
    _fit: tuple[float, float] | None = None
    _seen: int = 0
    _prev_tail: float = 1.0

    def __post_init__(self) -> None:
        self._averages = Ring(self.history)

    def step(self, raw: float) -> float:
        """Score a raw anomaly score in [0, 1], then learn from it."""
        avg = self._moving_average(raw)
        self._seen += 1
        if self._seen <= self.learning:
            self._remember(avg)
            return 0.0
        if self._fit is None or (self._seen - 1) % self.refit == 0:
            self._fit = self._estimate()
        tail = gaussian_tail(avg, *self._fit)
        red_again = tail <= RED and self._prev_tail <= RED
        self._prev_tail = tail
        self._remember(avg)
        return log_score(YELLOW if red_again else tail)

    def _moving_average(self, raw: float) -> float:
        self._recent.append(raw)
        if len(self._recent) > self.average:
            self._recent.popleft()
        return sum(self._recent) / len(self._recent)

    def _remember(self, avg: float) -> None:
        self._averages.push(avg)

    def _estimate(self) -> tuple[float, float]:
        """Mean and standard deviation of the averages after the first half of learning."""
        skip = max(0, self.learning // 2 - (self._seen - 1 - len(self._averages)))
        a = self._averages.ordered()[skip:]
        mean = max(float(a.mean()), MIN_MEAN) if a.size else MIN_MEAN
        var = max(float(a.var()), MIN_VARIANCE) if a.size else MIN_VARIANCE
        return mean, math.sqrt(var)


@dataclass(slots=True)
class MedianRatio:
    """``min(1, value / (scale * median of the last history values)) ** power``."""

    history: int = 8640
    scale: float = 6.0
    power: float = 2.0
    _sorted: array[float] = field(default_factory=lambda: array("d"))
    _order: Ring = field(init=False)

    def __post_init__(self) -> None:
        self._order = Ring(self.history)

    def step(self, value: float) -> float:
        """Compare ``value`` with the median of the remembered ones (0 when none), then keep it."""
        raw = self._ratio(value)
        bisect.insort(self._sorted, value)
        old = self._order.push(value)
        if old is not None:
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        return raw

    def _ratio(self, value: float) -> float:
        if not self._sorted:
            return 0.0
        median = self._sorted[len(self._sorted) // 2]
        if median <= 0:
            return 1.0 if value > 0 else 0.0
        return float(min(1.0, value / (self.scale * median)) ** self.power)
