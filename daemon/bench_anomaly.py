"""``gatewatch bench anomaly``: throughput, training time, memory, lead time, false alerts.

Everything runs on simulated pumps (anomaly/simulate.py) with 1-minute data:
vibration.rms, vibration.peak and bearing_temp per asset. Figures:

- scoring throughput: readings/s through window features (10-minute
  windows) + the asset model + the per-series baselines;
- training time and memory for 30 days of 1-minute data of one asset
  (tracemalloc peak while training; size of the saved model files; memory
  held by the live per-asset state, tracker + scorer, after 30 days);
- on ``assets`` degrading and ``assets`` healthy simulated pumps: lead time
  of the predictive alert before zone C and false alerts per asset-year;
- anomaly_score on 60 days of a healthy simulated pump (after the 7-day
  cold start): share of windows above 1, and episodes per year for a rule
  firing on one window and on 3 windows in a row.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

import numpy as np
from gatewatch.anomaly.degradation import DegradationConfig
from gatewatch.anomaly.features import window_features
from gatewatch.anomaly.models import AssetModel, RobustBaseline
from gatewatch.anomaly.persist import TrainingWindow, dumps
from gatewatch.anomaly.pipeline import AnomalyPipeline
from gatewatch.anomaly.scorer import AssetScorer
from gatewatch.anomaly.signals import ANOMALY_SCORE
from gatewatch.anomaly.simulate import PumpSim, replay, simulate
from gatewatch.anomaly.tracker import DegradationTracker
from gatewatch.anomaly.trend import DAY_S, FloatArray
from gatewatch.anomaly.zones import limits_for
from numpy.typing import NDArray

START = 1_700_006_400.0
WINDOW_S = 600.0
METRICS = ("vibration.rms", "vibration.peak", "bearing_temp")
Series = dict[str, tuple[FloatArray, FloatArray]]


def simulate_asset(days: float, seed: int) -> Series:
    rng = np.random.default_rng(seed)
    ts, rms = simulate(PumpSim(step_s=60.0), days, START, rng)
    peak = rms * rng.normal(3.0, 0.15, ts.size)
    temp = 40 + 3 * np.sin(2 * np.pi * (ts - START) / DAY_S) + rng.normal(0, 0.3, ts.size)
    return {"vibration.rms": (ts, rms), "vibration.peak": (ts, peak), "bearing_temp": (ts, temp)}


def feature_rows(series: Series) -> tuple[list[str], FloatArray]:
    """One feature vector per 10-minute window (names sorted, windows missing a feature dropped)."""
    ts = series[METRICS[0]][0]
    edges = np.arange(ts[0], ts[-1] + WINDOW_S, WINDOW_S)
    cut = {m: np.searchsorted(s[0], edges) for m, s in series.items()}
    rows = []
    for i in range(edges.size - 1):
        window = {
            m: (s[0][cut[m][i] : cut[m][i + 1]], s[1][cut[m][i] : cut[m][i + 1]])
            for m, s in series.items()
        }
        rows.append(dict(window_features(window, {"bearing_temp": 40.0}).values))
    names = sorted(set.intersection(*(set(r) for r in rows)))
    return names, np.array([[r[n] for n in names] for r in rows])


@dataclass(frozen=True, slots=True)
class Trained:
    model: AssetModel
    baselines: dict[str, RobustBaseline]
    names: list[str]


def train_asset(series: Series) -> Trained:
    names, x = feature_rows(series)
    model = AssetModel().fit(x)
    baselines = {m: RobustBaseline().fit(np.column_stack(s)) for m, s in series.items()}
    return Trained(model, baselines, names)


def score_asset(trained: Trained, series: Series) -> int:
    """Score every reading (baselines) and every window (asset model); return readings seen."""
    _, x = feature_rows(series)
    trained.model.score_samples(x)
    for m, s in series.items():
        trained.baselines[m].score_samples(np.column_stack(s))
    return sum(s[0].size for s in series.values())


def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def resident_state_bytes(month: Series) -> int:
    """Bytes held by one asset's live state: degradation tracker + anomaly scorer, 30 days fed."""
    names, x = feature_rows(month)
    ts0 = month[METRICS[0]][0][0]
    tracemalloc.start()
    tracker = DegradationTracker("bench", "pump", DegradationConfig(limits_for("II")))
    scorer = AssetScorer("bench", "pump")
    for metric in ("vibration.rms", "vibration.peak"):
        for t, v in zip(*month[metric], strict=True):
            tracker.observe(metric, float(t), float(v))
    for i, row in enumerate(x):
        scorer.observe(ts0 + i * WINDOW_S, dict(zip(names, row, strict=True)))
    tracker.poll(ts0 + 31 * DAY_S)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return int(current)


def measure_costs() -> dict[str, float]:
    month = simulate_asset(30, seed=1)
    trained, train_s = _timed(train_asset, month)
    tracemalloc.start()
    train_asset(month)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    window = TrainingWindow(START, START + 30 * DAY_S, month[METRICS[0]][0].size)
    saved = len(dumps(trained.model, window))
    saved += sum(len(dumps(b, window)) for b in trained.baselines.values())
    week = simulate_asset(7, seed=2)
    readings, score_s = _timed(score_asset, trained, week)
    return {
        "train_30d_1min_s": round(train_s, 3),
        "train_readings": int(sum(s[0].size for s in month.values())),
        "train_peak_mem_mib": round(peak / 2**20, 2),
        "model_bytes_per_asset": saved,
        "resident_state_kib_per_asset": round(resident_state_bytes(month) / 1024, 1),
        "score_readings": int(readings),
        "score_readings_per_s": round(readings / score_s),
        # ratio to a large building: 1000 series, one reading a minute each
        "headroom_vs_1000_series_per_min": round(readings / score_s / (1000 / 60), 1),
    }


def measure_simulation(assets: int) -> dict[str, Any]:
    cfg = DegradationConfig(limits_for("II"))
    rng = np.random.default_rng(7)
    leads, missed, extra = [], 0, 0
    for i, growth in enumerate(np.linspace(0.01, 0.03, assets)):
        sim = PumpSim(growth_per_day=float(growth), onset_day=float(rng.uniform(30, 90)))
        ts, v = simulate(sim, sim.day_reaching(2.8) + 5, START, np.random.default_rng(100 + i))
        r = replay(ts, v, cfg)
        early = [d for d in r.alert_starts if d < sim.day_reaching(2.8)]
        missed += not early
        extra += max(0, len(r.alert_starts) - 1)
        if early:
            leads.append(sim.day_reaching(2.8) - early[0])
    false = sum(
        len(
            replay(
                *simulate(PumpSim(), 365, START, np.random.default_rng(1000 + i)), cfg
            ).alert_starts
        )
        for i in range(assets)
    )
    return {
        "degrading_pumps": assets,
        "lead_days_min": round(min(leads), 1) if leads else None,
        "lead_days_median": round(float(np.median(leads)), 1) if leads else None,
        "lead_days_max": round(max(leads), 1) if leads else None,
        "missed_before_zone_c": missed,
        "repeat_alerts": extra,
        "healthy_asset_years": assets,
        "false_alerts": false,
        "false_alerts_per_asset_year": round(false / assets, 3),
    }


def measure_anomaly_score(days: float = 60.0) -> dict[str, float]:
    """anomaly_score on one healthy simulated pump through the whole pipeline."""
    series = simulate_asset(days, seed=3)
    pipe = AnomalyPipeline(lambda asset: None)
    scores = []
    ts = series[METRICS[0]][0]
    for i in range(ts.size):
        for metric in METRICS:
            got = pipe.on_reading(
                "bench", "pump", metric, float(ts[i]), float(series[metric][1][i])
            )
            scores += [s.value for s in got if s.metric == ANOMALY_SCORE]
    above = np.array(scores) > 1.0
    windows_per_year = 365 * DAY_S / WINDOW_S
    return {
        "healthy_windows_scored": int(above.size),
        "windows_above_1_pct": round(100 * float(above.mean()), 2) if above.size else 0.0,
        "single_window_episodes_per_year": round(
            _runs(above, 1) * windows_per_year / max(above.size, 1), 1
        ),
        "for_3_windows_episodes_per_year": round(
            _runs(above, 3) * windows_per_year / max(above.size, 1), 1
        ),
    }


def _runs(flags: NDArray[np.bool_], length: int) -> int:
    """Episodes of at least ``length`` consecutive True values (a rule's ``for``)."""
    count, run = 0, 0
    for flag in flags:
        run = run + 1 if flag else 0
        count += run == length
    return count


def run_bench(assets: int, *, as_json: bool) -> int:
    doc = {
        "costs": measure_costs(),
        "simulation": measure_simulation(max(1, assets)),
        "anomaly_score_healthy": measure_anomaly_score(),
    }
    doc["goals"] = {"lead_days_min": ">= 7", "false_alerts_per_asset_year": "< 1"}
    if as_json:
        print(json.dumps(doc))
        return 0
    for section, values in doc.items():
        print(section)
        for key, value in values.items():
            print(f"  {key:<32}{value}")
    return 0
