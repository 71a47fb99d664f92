"""Features per asset and window, from the readings of one window.

Every feature has a name and a one-line meaning in :data:`FEATURES`. Metrics
that no extractor knows are ignored (and reported back), never fatal;
non-finite values are dropped before anything is computed.

Vibration (raw waveform, any unit): ``rms``, ``peak``, ``crest_factor``
(peak / rms), ``kurtosis`` (Pearson, 3 for Gaussian noise, high for impacts
from a damaged bearing) and ``band_<lo>_<hi>hz`` energies (mean square per
frequency band; they add up to the mean square of the window's AC part).
Temperature: ``residual`` against what is expected (setpoint, ambient plus
offset, or the daily profile learnt by the baseline) and ``rate_of_rise``
(degrees per minute, least squares over the window). Lifts: door open/close
times, trip counts, levelling error and motor current when published.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from gatewatch.anomaly.trend import FloatArray

FEATURES: Mapping[str, str] = MappingProxyType(
    {
        "rms": "root mean square of the window",
        "peak": "largest absolute value in the window",
        "crest_factor": "peak / rms (impacts raise it before rms moves)",
        "kurtosis": "Pearson kurtosis, 3 for Gaussian noise",
        "band_<lo>_<hi>hz": "mean-square energy of the waveform between lo and hi Hz",
        "mean": "mean of the window",
        "p95": "95th percentile of the window",
        "residual": "last value minus the expected value",
        "rate_of_rise": "least-squares slope in units per minute",
        "door_open_s": "mean time a lift door stays open, s",
        "door_close_s": "mean door close time reported by the lift, s",
        "trips": "number of trips (rising edges of the moving flag or counter increments)",
        "levelling_error_mm": "mean absolute levelling error at stops, mm",
        "motor_current_a": "mean motor current, A",
    }
)
DEFAULT_BANDS: tuple[tuple[float, float], ...] = ((10, 100), (100, 500), (500, 1000), (1000, 5000))


def _finite(x: FloatArray) -> FloatArray:
    x = np.asarray(x, dtype=np.float64)
    return x[np.isfinite(x)]


def waveform_features(
    x: FloatArray, fs: float, bands: Sequence[tuple[float, float]] = DEFAULT_BANDS
) -> dict[str, float]:
    """RMS, peak, crest factor, kurtosis and band energies of one waveform sampled at ``fs`` Hz."""
    x = _finite(x)
    if x.size < 4:
        return {}
    rms = float(np.sqrt(np.mean(x**2)))
    peak = float(np.max(np.abs(x)))
    out = {"rms": rms, "peak": peak, "crest_factor": peak / rms if rms > 0 else 0.0}
    out["kurtosis"] = _kurtosis(x)
    out.update(band_energies(x, fs, bands))
    return out


def _kurtosis(x: FloatArray) -> float:
    centred = x - x.mean()
    var = float(np.mean(centred**2))
    return float(np.mean(centred**4) / var**2) if var > 0 else 0.0


def band_energies(
    x: FloatArray, fs: float, bands: Sequence[tuple[float, float]]
) -> dict[str, float]:
    """Mean-square energy of the mean-removed waveform per ``[lo, hi)`` band (Parseval)."""
    x = np.asarray(x, dtype=np.float64)
    spec = np.abs(np.fft.rfft(x - x.mean())) ** 2 / x.size**2
    spec[1:] *= 2  # one-sided spectrum: fold the negative frequencies in
    if x.size % 2 == 0:
        spec[-1] /= 2  # the Nyquist bin has no mirror
    freq = np.fft.rfftfreq(x.size, 1 / fs)
    return {
        f"band_{lo:g}_{hi:g}hz": float(spec[(freq >= lo) & (freq < hi)].sum()) for lo, hi in bands
    }


def series_features(values: FloatArray) -> dict[str, float]:
    """Mean, p95 and peak of a scalar series (e.g. RMS readings) in the window."""
    v = _finite(values)
    if v.size == 0:
        return {}
    ordered = np.sort(v)
    return {
        "mean": float(v.mean()),
        "p95": _quantile_sorted(ordered, 0.95),
        "peak": float(ordered[-1]),
    }


def _quantile_sorted(ordered: FloatArray, q: float) -> float:
    """Linear-interpolation quantile of sorted values (numpy's default method, without overhead)."""
    pos = q * (ordered.size - 1)
    lo = int(pos)
    hi = min(lo + 1, ordered.size - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def rate_of_rise(ts: FloatArray, values: FloatArray) -> float | None:
    """Least-squares slope in units per minute; None with fewer than 2 finite points."""
    ts, values = np.asarray(ts, dtype=np.float64), np.asarray(values, dtype=np.float64)
    ok = np.isfinite(ts) & np.isfinite(values)
    if ok.sum() < 2 or np.ptp(ts[ok]) == 0:
        return None
    t = ts[ok] / 60.0
    t = t - t.mean()
    return float(np.dot(t, values[ok] - values[ok].mean()) / np.dot(t, t))


def temperature_features(
    ts: FloatArray, values: FloatArray, expected: float | None
) -> dict[str, float]:
    """``residual`` of the last finite value against ``expected`` and ``rate_of_rise``."""
    ts, values = np.asarray(ts, dtype=np.float64), np.asarray(values, dtype=np.float64)
    out: dict[str, float] = {}
    finite = np.flatnonzero(np.isfinite(values))
    if finite.size and expected is not None:
        out["residual"] = float(values[finite[-1]] - expected)
    rise = rate_of_rise(ts, values)
    if rise is not None:
        out["rate_of_rise"] = rise
    return out


def door_open_durations(ts: FloatArray, state: FloatArray) -> FloatArray:
    """Seconds between each door opening (0 -> 1) and the next closing (1 -> 0)."""
    ts, state = np.asarray(ts, dtype=np.float64), np.asarray(state, dtype=np.float64)
    ok = np.isfinite(ts) & np.isfinite(state)
    ts, is_open = ts[ok], state[ok] > 0.5
    edges = np.diff(is_open.astype(np.int8))
    opens, closes = ts[1:][edges == 1], ts[1:][edges == -1]
    closes = closes[closes > opens[0]] if opens.size else closes[:0]
    n = min(opens.size, closes.size)
    return np.asarray(closes[:n] - opens[:n], dtype=np.float64)


def count_trips(values: FloatArray, *, counter: bool) -> int:
    """Trips in the window: increments of a trip counter, or rising edges of a moving flag."""
    v = _finite(values)
    if v.size < 2:
        return 0
    step = np.diff(v)
    if counter:
        return int(step[step > 0].sum())  # a counter reset (negative step) adds nothing
    return int(np.sum(np.diff((v > 0.5).astype(np.int8)) == 1))


Series = tuple[FloatArray, FloatArray]


def _lift_door(s: Series) -> dict[str, float]:
    d = door_open_durations(*s)
    return {"door_open_s": float(d.mean())} if d.size else {}


def _mean_of(name: str, *, absolute: bool = False) -> Callable[[Series], dict[str, float]]:
    def extract(s: Series) -> dict[str, float]:
        v = _finite(s[1])
        return {name: float(np.abs(v).mean() if absolute else v.mean())} if v.size else {}

    return extract


EXTRACTORS: Mapping[str, Callable[[Series], dict[str, float]]] = MappingProxyType(
    {
        "vibration.rms": lambda s: {f"rms_{k}": v for k, v in series_features(s[1]).items()},
        "vibration.peak": lambda s: {f"peak_{k}": v for k, v in series_features(s[1]).items()},
        "door_state": _lift_door,
        "door_close_time": _mean_of("door_close_s"),
        "trip_count": lambda s: {"trips": float(count_trips(s[1], counter=True))},
        "moving": lambda s: {"trips": float(count_trips(s[1], counter=False))},
        "levelling_error": _mean_of("levelling_error_mm", absolute=True),
        "motor_current": _mean_of("motor_current_a"),
    }
)


def is_temperature(metric: str) -> bool:
    """Metrics treated as temperatures: ``temperature*`` and ``*temp`` (e.g. bearing_temp)."""
    return metric.endswith("temp") or metric.startswith("temperature")


@dataclass(frozen=True, slots=True)
class WindowFeatures:
    values: Mapping[str, float]
    ignored: tuple[str, ...]  # metrics no extractor knows


def window_features(
    series: Mapping[str, Series], expected_temperature: Mapping[str, float] | None = None
) -> WindowFeatures:
    """Features of one asset's window from its series (metric -> (ts, values))."""
    out: dict[str, float] = {}
    ignored = []
    expected = expected_temperature or {}
    for metric, s in sorted(series.items()):
        if metric in EXTRACTORS:
            out.update(EXTRACTORS[metric](s))
        elif is_temperature(metric):
            got = temperature_features(s[0], s[1], expected.get(metric))
            out.update({f"{metric}_{k}": v for k, v in got.items()})
        else:
            ignored.append(metric)
    return WindowFeatures(MappingProxyType(out), tuple(ignored))
