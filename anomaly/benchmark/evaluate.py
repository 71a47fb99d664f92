"""Scoring our detectors on SKAB and NAB, following each benchmark's protocol.

SKAB: one model per file (``SKAB_DETECTORS``: ``gatewatch-similarity``, the
drift-screened nearest-neighbour model, or ``gatewatch-asset-model``, the
Mahalanobis model used before), fit on the file's first 400 rows only,
its threshold learnt from those rows too; rows 400 onward are scored; the
binary prediction is debounced causally (a state change needs ``debounce``
rows in a row, like a rule's ``for``); F1/FAR/MAR over all test rows
together and the NAB-style changepoint score with a 60 s right window.
Every parameter is global (the same for every file), fixed in the code.

NAB: a fresh detector per file, one pass, causal, the same parameters for
every file (only the probationary length and, for the relative-entropy
detector, the value range are derived from the file, as NAB's rules allow);
one threshold per profile chosen on the whole corpus given (NAB's own
optimize step: every distinct score is tried, optimistic on a subset).
Detectors: ``gatewatch-discord`` (ours: subsequence nearest-neighbour
distance, its running rank, Numenta's anomaly likelihood, the out-of-range
check and a quiet period; see anomaly/benchmark/discord.py), ``gatewatch-stream``
(our first one, EWMA error and likelihood, parameters fixed before any run)
and ``relative-entropy`` (our reimplementation of NAB's detector of that
name; it reproduces the published subset figures exactly, which checks the
scorer).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from gatewatch.anomaly.benchmark.discord import DiscordDetector
from gatewatch.anomaly.benchmark.scoring import (
    SKAB_PROFILES,
    Outliers,
    Profile,
    best_threshold,
    changepoint_score,
    nab_normalised,
    nab_raw_score,
    nab_rows,
    normalised,
    outlier_counts,
)
from gatewatch.anomaly.benchmark.streaming import (
    OnlineDetector,
    RelativeEntropyDetector,
    StreamDetector,
    score_stream,
)
from gatewatch.anomaly.models import AssetModel
from gatewatch.anomaly.similarity import SimilarityModel
from gatewatch.anomaly.trend import FloatArray
from numpy.typing import NDArray

SKAB_TRAIN_ROWS = 400


@dataclass(frozen=True, slots=True)
class SkabFile:
    name: str  # path relative to the data folder, e.g. "valve1/0.csv"
    ts: FloatArray  # seconds; only differences matter
    x: FloatArray  # (rows, sensors)
    anomaly: FloatArray
    changepoint: FloatArray


@dataclass(frozen=True, slots=True)
class NabFile:
    name: str  # e.g. "realKnownCause/nyc_taxi.csv"
    timestamps: list[str]
    values: FloatArray
    windows: list[tuple[str, str]]


def debounce(raw: NDArray[np.bool_], rows: int) -> NDArray[np.bool_]:
    """Causal debounce: the state flips after ``rows`` consecutive rows disagree with it."""
    out = np.zeros(raw.size, dtype=bool)
    state, run = False, 0
    for i, r in enumerate(raw):
        run = run + 1 if bool(r) != state else 0
        if run >= rows:
            state, run = bool(r), 0
        out[i] = state
    return out


class RowModel(Protocol):
    """What a SKAB detector needs: fit on healthy rows, score rows (> 1.0 = alarm)."""

    def fit(self, x_in: FloatArray, y: object = None) -> RowModel: ...

    def score_samples(self, x_in: FloatArray) -> FloatArray: ...

    def get_params(self) -> dict[str, object]: ...


SKAB_DETECTORS: dict[str, Callable[[], RowModel]] = {
    "gatewatch-similarity": SimilarityModel,
    "gatewatch-asset-model": lambda: AssetModel(quantile=0.99, margin=1.5, smooth=5),
}


@dataclass(frozen=True, slots=True)
class SkabSettings:
    detector: str = "gatewatch-similarity"
    debounce: int = 5
    make: Callable[[], RowModel] | None = None  # overrides ``detector`` (parameter sweeps)

    def model(self) -> RowModel:
        return self.make() if self.make is not None else SKAB_DETECTORS[self.detector]()


def skab_predict(
    f: SkabFile, s: SkabSettings, train_rows: int = SKAB_TRAIN_ROWS
) -> NDArray[np.bool_]:
    """0/1 anomaly prediction for rows 400 onward, from a model fit on rows [:400]."""
    model = s.model().fit(f.x[:train_rows])
    raw = np.asarray(model.score_samples(f.x) > 1.0)
    return debounce(raw, s.debounce)[train_rows:]


@dataclass(frozen=True, slots=True)
class ChangepointResult:
    profile: str
    score: float
    missed: int
    false_positives: int


@dataclass(frozen=True, slots=True)
class SkabReport:
    files: int
    test_rows: int
    changepoints: int
    f1: float
    far: float
    mar: float
    changepoint: list[ChangepointResult] = field(default_factory=list)
    per_file: dict[str, Outliers] = field(default_factory=dict)  # file name -> its test rows


def evaluate_skab(files: Sequence[SkabFile], settings: SkabSettings | None = None) -> SkabReport:
    s = settings or SkabSettings()
    usable = [f for f in files if f.x.shape[0] > SKAB_TRAIN_ROWS]
    preds = [skab_predict(f, s) for f in usable]
    truth = np.concatenate([f.anomaly[SKAB_TRAIN_ROWS:] > 0.5 for f in usable])
    o = outlier_counts(truth, np.concatenate(preds))
    cps = [_skab_cp(usable, preds, p) for p in SKAB_PROFILES]
    n_cp = sum(int((f.changepoint[SKAB_TRAIN_ROWS:] > 0.5).sum()) for f in usable)
    per_file = {
        f.name: outlier_counts(f.anomaly[SKAB_TRAIN_ROWS:] > 0.5, pred)
        for f, pred in zip(usable, preds, strict=True)
    }
    return SkabReport(len(usable), int(truth.size), n_cp, o.f1, o.far, o.mar, cps, per_file)


def _skab_cp(
    files: Sequence[SkabFile], preds: Sequence[NDArray[np.bool_]], p: Profile
) -> ChangepointResult:
    raw, windows, missed, fps = 0.0, 0, 0, 0
    for f, pred in zip(files, preds, strict=True):
        ts = f.ts[SKAB_TRAIN_ROWS:]
        c = changepoint_score(ts, ts[f.changepoint[SKAB_TRAIN_ROWS:] > 0.5], pred, p)
        raw, windows = raw + c.raw, windows + c.windows
        missed, fps = missed + c.missed, fps + c.false_positives
    return ChangepointResult(p.name, normalised(raw, windows, p), missed, fps)


@dataclass(frozen=True, slots=True)
class FalseAlarms:
    """Alarms on a file of normal operation only (SKAB's anomaly-free.csv)."""

    rows: int
    alarm_rows_pct: float
    alarm_episodes: int


def skab_false_alarms(
    f: SkabFile, settings: SkabSettings | None = None, train_rows: int = SKAB_TRAIN_ROWS
) -> FalseAlarms:
    """Same pipeline as the benchmark: fit on rows [:train_rows], count alarms on the rest."""
    pred = skab_predict(f, settings or SkabSettings(), train_rows)
    episodes = int(np.sum(np.diff(np.r_[0, pred.astype(np.int8)]) == 1))
    return FalseAlarms(int(pred.size), 100.0 * float(pred.mean()) if pred.size else 0.0, episodes)


@dataclass(frozen=True, slots=True)
class NabProfileResult:
    profile: str
    threshold: float
    score: float
    raw_per_file: dict[str, float]


@dataclass(frozen=True, slots=True)
class NabReport:
    detector: str
    files: int
    windows: int
    results: list[NabProfileResult]


def nab_probation(n: int) -> int:
    """Rows of NAB's probationary period: learnt from, never scored."""
    return int(min(math.floor(0.15 * n), 750))


def _stream_detector(f: NabFile) -> StreamDetector:
    return StreamDetector(learning=nab_probation(f.values.size))


def _relative_entropy(f: NabFile) -> RelativeEntropyDetector:
    finite = f.values[np.isfinite(f.values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    return RelativeEntropyDetector(lo, hi)  # NAB's rules allow the value range in advance


def _discord(f: NabFile) -> DiscordDetector:
    return DiscordDetector(learning=nab_probation(f.values.size))


NAB_DETECTORS: dict[str, Callable[[NabFile], OnlineDetector]] = {
    "gatewatch-discord": _discord,
    "gatewatch-stream": _stream_detector,
    "relative-entropy": _relative_entropy,
}


def evaluate_nab(
    files: Sequence[NabFile],
    profiles: Sequence[Profile],
    detector: str,
    make: Callable[[NabFile], OnlineDetector] | None = None,
) -> NabReport:
    """Score every file with a fresh ``detector`` (built by ``make`` when given, e.g. with
    other parameters), then one corpus threshold per profile."""
    make = make or NAB_DETECTORS[detector]
    scores = [score_stream(f.values, make(f)) for f in files]
    results, windows = [], 0
    for p in profiles:
        rows = [nab_rows(f.timestamps, f.windows, p) for f in files]
        th, raw = best_threshold(list(zip(rows, scores, strict=True)), p)
        windows = sum(r.n_windows for r in rows)
        per_file = {
            f.name: nab_raw_score(r, s, th, p) for f, r, s in zip(files, rows, scores, strict=True)
        }
        results.append(NabProfileResult(p.name, th, nab_normalised(raw, windows, p), per_file))
    return NabReport(detector, len(files), windows, results)
