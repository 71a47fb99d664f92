"""Readings in, derived signals out: the anomaly stage the daemon fans readings into.

Per asset: readings are grouped into fixed windows (``window_s``, aligned to
the epoch); when a window closes (a later reading arrives, or :meth:`tick`
passes its end) its features go to the asset's :class:`AssetScorer`
(``anomaly_score``); temperatures get a residual against their learnt
hour-of-day profile. Vibration RMS also feeds the asset's
:class:`DegradationTracker` (``days_to_zone_c`` / ``days_to_zone_d``, once a
day) when ``degradation_for(asset)`` gives a configuration. Time comes from
the readings and :meth:`tick`; nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from gatewatch.anomaly.features import is_temperature, window_features
from gatewatch.anomaly.models import SeasonalEwma
from gatewatch.anomaly.scorer import AssetScorer
from gatewatch.anomaly.wear.degradation import DegradationConfig
from gatewatch.anomaly.wear.tracker import DegradationTracker
from gatewatch.core.signals import DerivedSignal


@dataclass(slots=True)
class _Window:
    """The readings of one asset's open window: packed doubles (16 bytes a reading, not
    64 as two lists of float objects: 10 minutes of 1000 series at 1 Hz is 9.6 MB)."""

    start: float
    series: dict[str, tuple[array[float], array[float]]] = field(default_factory=dict)

    def add(self, metric: str, ts: float, value: float) -> None:
        times, values = self.series.get(metric) or self.series.setdefault(
            metric, (array("d"), array("d"))
        )
        times.append(ts)
        values.append(value)


class AnomalyPipeline:
    def __init__(
        self,
        degradation_for: Callable[[str], DegradationConfig | None],
        *,
        window_s: float = 600.0,
        scorer_factory: Callable[[str, str], AssetScorer] | None = None,
    ) -> None:
        self.degradation_for = degradation_for
        self.window_s = window_s
        self.scorer_factory = scorer_factory or AssetScorer
        self.windows: dict[tuple[str, str], _Window] = {}
        self.scorers: dict[tuple[str, str], AssetScorer] = {}
        self.trackers: dict[tuple[str, str], DegradationTracker | None] = {}
        self.profiles: dict[tuple[str, str, str], SeasonalEwma] = {}  # temperature by hour
        self.late = 0  # readings older than their asset's open window (ignored)

    def on_reading(
        self, site: str, asset: str, metric: str, ts: float, value: float
    ) -> list[DerivedSignal]:
        key = (site, asset)
        out = self._close_if_due(key, ts)
        start = math.floor(ts / self.window_s) * self.window_s
        window = self.windows.setdefault(key, _Window(start))
        if ts < window.start:
            self.late += 1
            return out
        window.add(metric, ts, value)
        tracker = self._tracker(key)
        if tracker is not None:
            out += tracker.poll(ts)[0]
            tracker.observe(metric, ts, value)
        return out

    def tick(self, now: float) -> list[DerivedSignal]:
        """Close every window that ended by ``now`` (call it periodically when data is sparse)."""
        out: list[DerivedSignal] = []
        for key in list(self.windows):
            out += self._close_if_due(key, now)
        return out

    def _close_if_due(self, key: tuple[str, str], now: float) -> list[DerivedSignal]:
        window = self.windows.get(key)
        if window is None or now < window.start + self.window_s:
            return []
        del self.windows[key]
        series = {m: (np.array(t), np.array(v)) for m, (t, v) in window.series.items()}
        features = window_features(series, self._expected(key, window)).values
        if not features:
            return []
        signals: list[DerivedSignal] = self.scorer(*key).observe(
            window.start + self.window_s, features
        )
        return signals

    def scorer(self, site: str, asset: str) -> AssetScorer:
        """The asset's scorer, created on first use (also to restore a saved model into)."""
        key = (site, asset)
        if key not in self.scorers:
            self.scorers[key] = self.scorer_factory(site, asset)
        return self.scorers[key]

    def _expected(self, key: tuple[str, str], window: _Window) -> dict[str, float]:
        """Expected temperature per metric from its daily profile, then learn the window."""
        out = {}
        for metric, (times, values) in window.series.items():
            if not is_temperature(metric):
                continue
            profile = self.profiles.setdefault((*key, metric), SeasonalEwma())
            expected = profile.expected(times[-1])
            if math.isfinite(expected):
                out[metric] = expected
            for t, v in zip(times, values, strict=True):
                profile.update(t, v)
        return out

    def _tracker(self, key: tuple[str, str]) -> DegradationTracker | None:
        if key not in self.trackers:
            cfg = self.degradation_for(key[1])
            self.trackers[key] = DegradationTracker(key[0], key[1], cfg) if cfg else None
        return self.trackers[key]

    def status(self) -> dict[str, str]:
        """Per asset, what the scorer and tracker are doing (cold start, trained...), for logs."""
        out = {f"{s}/{a}": f"scorer {sc.status}" for (s, a), sc in self.scorers.items()}
        for (s, a), tr in self.trackers.items():
            if tr is not None:
                out[f"{s}/{a}"] = out.get(f"{s}/{a}", "scorer cold start") + f"; trend {tr.status}"
        return out
