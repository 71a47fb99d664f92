"""Simulated pumps for tests, the demo and ``gatewatch bench anomaly``.

A pump's vibration RMS velocity (mm/s) is a base level times: a daily cycle,
a load level that changes every few hours, multiplicative sensor noise, and
after ``onset_day`` an exponential rise of ``growth_per_day`` (0.02 = +2 %/day).
Healthy pumps use the same noise with ``growth_per_day = 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from gatewatch.anomaly.trend import DAY_S, FloatArray
from gatewatch.anomaly.wear.degradation import DegradationConfig, forecast
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class PumpSim:
    base_rms: float = 1.6  # mm/s: zone B of ISO 10816 class II
    growth_per_day: float = 0.0
    onset_day: float = 0.0
    noise: float = 0.08  # sigma of the per-reading log-normal noise
    daily_amplitude: float = 0.08  # relative amplitude of the daily cycle
    load_sigma: float = 0.06  # sigma of the log load level of each load period
    load_period_h: float = 6.0
    step_s: float = 600.0  # one reading every 10 minutes

    def trend(self, day: FloatArray) -> FloatArray:
        """Noise-free level on ``day`` (days since the start)."""
        rise = self.growth_per_day * np.clip(day - self.onset_day, 0, None)
        return self.base_rms * np.exp(rise)

    def day_reaching(self, limit: float) -> float:
        """Day (since the start) when the noise-free level reaches ``limit``."""
        if self.base_rms >= limit:
            return 0.0
        if self.growth_per_day <= 0:
            return math.inf
        return self.onset_day + math.log(limit / self.base_rms) / self.growth_per_day


def simulate(
    sim: PumpSim, days: float, start: float, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Timestamps and RMS readings of ``days`` days from ``start`` (epoch seconds)."""
    t = np.arange(0.0, days * DAY_S, sim.step_s)
    day = t / DAY_S
    cycle = 1 + sim.daily_amplitude * np.sin(2 * np.pi * day)
    periods = np.floor(t / (sim.load_period_h * 3600)).astype(np.int64)
    load = np.exp(rng.normal(0, sim.load_sigma, periods[-1] + 1))[periods]
    noise = np.exp(rng.normal(0, sim.noise, t.size))
    return start + t, sim.trend(day) * cycle * load * noise


@dataclass(frozen=True, slots=True)
class Replay:
    """Daily forecasts over a simulated history and the predictive alerts they raise."""

    days: FloatArray  # day of each forecast (since the start)
    days_to_c: FloatArray  # central forecast (inf: stable, nan: cold start)
    alert_starts: list[float] = field(default_factory=list)  # days an alert episode began


def replay(
    ts: FloatArray,
    values: FloatArray,
    cfg: DegradationConfig,
    *,
    horizon_days: float = 30.0,
    confirm_days: int = 3,
    clear_factor: float = 3.0,
) -> Replay:
    """Forecast once a day, as the daemon does, and count predictive alert episodes.

    Like the predictive rule kind: an alert fires when days_to_zone_c has been
    <= ``horizon_days`` on ``confirm_days`` daily forecasts in a row (the rule's
    ``for``) and clears (hysteresis) only when it rises above ``clear_factor``
    times the horizon.
    """
    start = float(ts[0])
    ends = np.arange(start + DAY_S, float(ts[-1]) + 1, DAY_S)
    out = np.full(ends.size, np.nan)
    for i, now in enumerate(ends):
        lo, hi = np.searchsorted(ts, [now - cfg.window_days * DAY_S, now], side="right")
        fc = forecast(ts[lo:hi], values[lo:hi], cfg, now)
        out[i] = np.nan if fc.state == "cold_start" else fc.days_to_c[0]
    day = (ends - start) / DAY_S
    within = np.nan_to_num(out, nan=np.inf) <= horizon_days
    begins = _episode_starts(within, out, confirm_days, clear_factor * horizon_days)
    return Replay(day, out, [float(day[i]) for i in begins])


def _episode_starts(
    within: NDArray[np.bool_], days_to_c: FloatArray, confirm: int, clear: float
) -> list[int]:
    starts, firing, run = [], False, 0
    for i, ok in enumerate(within):
        run = run + 1 if ok else 0
        if not firing and run >= confirm:
            starts.append(i)
            firing = True
        elif firing and not days_to_c[i] <= clear:
            firing = False
    return starts
