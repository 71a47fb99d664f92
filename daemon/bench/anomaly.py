"""``gatewatch bench anomaly``: throughput, training time, memory, lead time, false alerts.

Everything runs on simulated pumps (anomaly/wear/simulate.py) with 1-minute data:
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
  firing on one window and on 3 windows in a row;
- anomaly_score on a wearing pump: days before zone C of the first episode
  of 3 windows in a row above 1.

``--model`` picks the anomaly_score model (``anomaly.model``): each figure
that depends on it is measured per model, with the ratios of similarity to
covariance when both run. The predictive-alert simulation (lead time, false
predictive tickets) uses the degradation forecast only, not the model: it is
printed once.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

import numpy as np
from gatewatch.anomaly.features import window_features
from gatewatch.anomaly.models import RobustBaseline
from gatewatch.anomaly.persist import TrainingWindow, dumps
from gatewatch.anomaly.pipeline import AnomalyPipeline
from gatewatch.anomaly.scorer import MODELS, AssetScorer, ScoringModel
from gatewatch.anomaly.trend import DAY_S, FloatArray
from gatewatch.anomaly.wear.degradation import DegradationConfig
from gatewatch.anomaly.wear.simulate import PumpSim, replay, simulate
from gatewatch.anomaly.wear.tracker import DegradationTracker
from gatewatch.anomaly.wear.zones import limits_for
from gatewatch.core.signals import ANOMALY_SCORE
from numpy.typing import NDArray

START = 1_700_006_400.0
WINDOW_S = 600.0
METRICS = ("vibration.rms", "vibration.peak", "bearing_temp")
Series = dict[str, tuple[FloatArray, FloatArray]]


def simulate_asset(days: float, seed: int, sim: PumpSim | None = None) -> Series:
    rng = np.random.default_rng(seed)
    ts, rms = simulate(sim or PumpSim(step_s=60.0), days, START, rng)
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
    model: ScoringModel
    baselines: dict[str, RobustBaseline]
    names: list[str]


def train_asset(series: Series, model_name: str = "covariance") -> Trained:
    names, x = feature_rows(series)
    model = MODELS[model_name]().fit(x)
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


def resident_state_bytes(month: Series, model_name: str = "covariance") -> int:
    """Bytes held by one asset's live state: degradation tracker + anomaly scorer, 30 days fed."""
    names, x = feature_rows(month)
    ts0 = month[METRICS[0]][0][0]
    tracemalloc.start()
    tracker = DegradationTracker("bench", "pump", DegradationConfig(limits_for("II")))
    scorer = AssetScorer("bench", "pump", model_factory=MODELS[model_name])
    for metric in ("vibration.rms", "vibration.peak"):
        for t, v in zip(*month[metric], strict=True):
            tracker.observe(metric, float(t), float(v))
    for i, row in enumerate(x):
        scorer.observe(ts0 + i * WINDOW_S, dict(zip(names, row, strict=True)))
    tracker.poll(ts0 + 31 * DAY_S)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return int(current)


def window_score_ms(month: Series, model_name: str, windows: int = 300) -> float:
    """Daemon-style scoring cost: ms per window through a trained AssetScorer (with context)."""
    names, x = feature_rows(month)
    scorer = AssetScorer("bench", "pump", model_factory=MODELS[model_name])
    ts0 = month[METRICS[0]][0][0]
    train = x.shape[0] - windows
    for i, row in enumerate(x[:train]):
        scorer.observe(ts0 + i * WINDOW_S, dict(zip(names, row, strict=True)))
    t0 = time.perf_counter()
    for i, row in enumerate(x[train:], start=train):
        scorer.observe(ts0 + i * WINDOW_S, dict(zip(names, row, strict=True)))
    return 1000 * (time.perf_counter() - t0) / windows


def measure_costs(model_name: str = "covariance") -> dict[str, float]:
    month = simulate_asset(30, seed=1)
    trained, train_s = _timed(train_asset, month, model_name)
    tracemalloc.start()
    train_asset(month, model_name)
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
        "resident_state_kib_per_asset": round(resident_state_bytes(month, model_name) / 1024, 1),
        "scorer_ms_per_window": round(window_score_ms(month, model_name), 3),
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


def _pipeline_scores(series: Series, model_name: str) -> tuple[FloatArray, FloatArray]:
    """(window end times, anomaly_score) of one asset fed through the whole pipeline."""
    factory = MODELS[model_name]
    pipe = AnomalyPipeline(
        lambda asset: None,
        scorer_factory=lambda site, asset: AssetScorer(site, asset, model_factory=factory),
    )
    times, scores = [], []
    ts = series[METRICS[0]][0]
    for i in range(ts.size):
        for metric in METRICS:
            got = pipe.on_reading(
                "bench", "pump", metric, float(ts[i]), float(series[metric][1][i])
            )
            for s in got:
                if s.metric == ANOMALY_SCORE:
                    times.append(s.ts)
                    scores.append(s.value)
    return np.array(times), np.array(scores)


def measure_anomaly_score(days: float = 60.0, model_name: str = "covariance") -> dict[str, float]:
    """anomaly_score on one healthy simulated pump through the whole pipeline."""
    _, scores = _pipeline_scores(simulate_asset(days, seed=3), model_name)
    above = scores > 1.0
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


def measure_wearing_pump(model_name: str = "covariance") -> dict[str, float | None]:
    """Wearing pump: 3-windows-in-a-row anomaly_score episodes before the wear starts (false)
    and the first one after it, in days before zone C."""
    sim = PumpSim(step_s=60.0, growth_per_day=0.03, onset_day=15.0)
    zone_c = sim.day_reaching(2.8)
    times, scores = _pipeline_scores(simulate_asset(zone_c + 2, seed=4, sim=sim), model_name)
    days = (times[_run_ends(scores > 1.0, 3)] - START) / DAY_S
    after = days[days >= sim.onset_day]
    first = float(after[0]) if after.size else None
    return {
        "onset_day": sim.onset_day,
        "zone_c_day": round(zone_c, 1),
        "episodes_before_onset": int((days < sim.onset_day).sum()),
        "first_episode_after_onset_day": None if first is None else round(first, 1),
        "anomaly_lead_days": None if first is None else round(zone_c - first, 1),
    }


def _run_ends(flags: NDArray[np.bool_], length: int) -> NDArray[np.int64]:
    """Indices where a run of True values reaches ``length`` (one per episode)."""
    out, run = [], 0
    for i, flag in enumerate(flags):
        run = run + 1 if flag else 0
        if run == length:
            out.append(i)
    return np.array(out, dtype=np.int64)


def _runs(flags: NDArray[np.bool_], length: int) -> int:
    """Episodes of at least ``length`` consecutive True values (a rule's ``for``)."""
    count, run = 0, 0
    for flag in flags:
        run = run + 1 if flag else 0
        count += run == length
    return count


def measure_model(model_name: str) -> dict[str, dict[str, Any]]:
    return {
        "costs": measure_costs(model_name),
        "anomaly_score_healthy": measure_anomaly_score(model_name=model_name),
        "anomaly_score_wearing": measure_wearing_pump(model_name),
    }


def _ratios(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
    """b / a for every numeric figure both have (a 0 or missing figure is left out)."""
    out = {}
    for key, va in a.items():
        vb = b.get(key)
        if isinstance(va, int | float) and isinstance(vb, int | float) and va:
            out[key] = round(vb / va, 2)
    return out


def run_bench(assets: int, *, as_json: bool, models: tuple[str, ...] = ("covariance",)) -> int:
    per = {m: measure_model(m) for m in models}
    doc: dict[str, Any] = {"simulation": measure_simulation(max(1, assets))}
    if len(models) == 1:
        doc = {**per[models[0]], **doc, "model": {"name": models[0]}}
    else:
        for m, sections in per.items():
            doc |= {f"{name}[{m}]": values for name, values in sections.items()}
        if set(models) >= {"covariance", "similarity"}:
            cov, sim = per["covariance"], per["similarity"]
            doc["ratio_similarity_to_covariance"] = _ratios(cov["costs"], sim["costs"])
    doc["goals"] = {"lead_days_min": ">= 7", "false_alerts_per_asset_year": "< 1"}
    if as_json:
        print(json.dumps(doc))
        return 0
    for section, values in doc.items():
        print(section)
        for key, value in values.items():
            print(f"  {key:<32}{value}")
    return 0
