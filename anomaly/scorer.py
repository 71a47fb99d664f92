"""Per-asset multivariate anomaly scoring for the daemon: feature windows in, signals out.

Cold start is explicit: no ``anomaly_score`` signal until ``min_rows``
windows of history exist (:attr:`AssetScorer.status` says how many, for the
log). The model is retrained every ``retrain_every_s`` on the last
``max_rows`` windows, leaving out windows it scored above ``exclude_above``
(clearly anomalous), so that a developing fault is not learnt as normal.
Leaving out every window above 1.0 would shrink the training spread at each
retrain and raise the false-alarm rate (measured: 3.3 % of healthy windows
above 1 instead of 1.2 %). Single windows above 1 are expected on healthy
machines (about 1 %); rules should ask for several windows in a row
(``for`` >= 30 minutes with 10-minute windows).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
from gatewatch.anomaly.models import AssetModel
from gatewatch.anomaly.persist import ModelFileError, TrainingWindow, dumps, loads
from gatewatch.anomaly.similarity import SimilarityModel
from gatewatch.anomaly.trend import DAY_S, FloatArray
from gatewatch.core.signals import ANOMALY_SCORE, DerivedSignal

ScoringModel = AssetModel | SimilarityModel
ModelFactory = Callable[..., ScoringModel]
MODELS: Mapping[str, ModelFactory] = MappingProxyType(
    {"covariance": AssetModel, "similarity": SimilarityModel}
)
DEFAULT_MODEL = "covariance"


def context_rows(model: ScoringModel) -> int:
    """Rows, ending with the one to score, that the model needs for that row's score."""
    return model.context_rows if isinstance(model, SimilarityModel) else 1


class _History:
    """Ring buffer of feature rows and their scores (numpy). It starts small and doubles
    as windows arrive, up to ``capacity``: an asset in cold start (a room sensor, a
    new pump) holds only the windows it has, not 30 days of empty rows."""

    START = 64  # rows of a new buffer

    def __init__(self, capacity: int, exclude_above: float) -> None:
        self.capacity = capacity
        self.exclude_above = exclude_above
        self.rows = np.empty((0, 0))
        self.scores = np.zeros(0)
        self.times = np.zeros(0)
        self.size = 0
        self.next = 0

    def __len__(self) -> int:
        return self.size

    @property
    def allocated(self) -> int:
        """Rows the buffer holds room for now (<= capacity)."""
        return len(self.scores)

    def append(self, ts: float, row: FloatArray, score: float) -> None:
        if self.size == self.allocated < self.capacity:  # full, not wrapped yet: grow
            self._resize(min(self.capacity, max(self.START, 2 * self.allocated)), row.size)
            self.next = self.size
        if self.rows.shape[1] < row.size:  # a new feature: a column of NaN for the past
            self._resize(self.allocated, row.size)
        self.rows[self.next] = row
        self.scores[self.next] = score
        self.times[self.next] = ts
        self.next = (self.next + 1) % self.allocated
        self.size = min(self.size + 1, self.allocated)

    def _resize(self, n: int, width: int) -> None:
        """``n`` rows of ``width`` columns, the old rows kept in place (NaN for new cells)."""
        old_n, old_w = self.rows.shape
        width = max(width, old_w)
        rows = np.full((n, width), np.nan)
        rows[:old_n, :old_w] = self.rows
        scores, times = np.zeros(n), np.zeros(n)
        scores[:old_n], times[:old_n] = self.scores, self.times
        self.rows, self.scores, self.times = rows, scores, times

    def set_last_score(self, score: float) -> None:
        self.scores[(self.next - 1) % self.allocated] = score

    def oldest(self) -> float:
        return float(self.times[: self.size].min()) if self.size else math.nan

    def recent(self, n: int) -> FloatArray:
        """The last ``n`` rows (fewer if not yet seen), oldest first."""
        n = min(n, self.size)
        idx = (self.next - n + np.arange(n)) % self.allocated
        return np.asarray(self.rows[idx])

    def healthy_rows(self) -> FloatArray:
        rows, scores = self.rows[: self.size], self.scores[: self.size]
        keep = (scores <= self.exclude_above) & np.isfinite(rows).any(axis=1)
        return np.asarray(rows[keep])


class AssetScorer:
    def __init__(
        self,
        site: str,
        asset: str,
        *,
        min_rows: int = 1008,  # 7 days of 10-minute windows
        max_rows: int = 4320,  # 30 days
        retrain_every_s: float = 7 * DAY_S,
        model_params: Mapping[str, Any] | None = None,
        exclude_above: float = 3.0,
        model_factory: ModelFactory = AssetModel,
    ) -> None:
        self.site, self.asset = site, asset
        self.min_rows, self.retrain_every_s = min_rows, retrain_every_s
        self.model_params = dict(model_params or {})
        self.model_factory = model_factory
        self.history = _History(max_rows, exclude_above)
        self.names: list[str] = []  # every feature seen, in order of first appearance
        self.model_names: list[str] = []  # the model's columns (a prefix of names)
        self.model: ScoringModel | None = None
        self.trained_at = math.nan
        self.trained_window: TrainingWindow | None = None
        self.train_problem = ""
        self.status = f"cold start: 0 of {min_rows} windows"

    def observe(self, ts: float, features: Mapping[str, float]) -> list[DerivedSignal]:
        """Add one window's features; return its anomaly_score signal once trained."""
        self.names += sorted(n for n in features if n not in self.names)
        row = np.array([features.get(n, math.nan) for n in self.names], dtype=np.float64)
        if self.model is not None and ts - self.trained_at >= self.retrain_every_s:
            self._train(ts)
        self.history.append(ts, row, 0.0)
        model = self.model if self.model is not None else self._train(ts)
        if model is None:
            why = f"; {self.train_problem}" if self.train_problem else ""
            self.status = f"cold start: {len(self.history)} of {self.min_rows} windows{why}"
            return []
        used = row[: len(self.model_names)]  # features that appeared later wait for a retrain
        recent = self.history.recent(context_rows(model))[:, : len(self.model_names)]
        score = float(model.score_samples(recent)[-1])
        self.history.set_last_score(score)
        return [self._signal(model, self.model_names, ts, used, score)]

    def snapshot(self) -> bytes | None:
        """The trained model as versioned JSON (None in cold start), for the daemon to save."""
        if self.model is None or self.trained_window is None:
            return None
        data: bytes = dumps(self.model, self.trained_window)
        return data

    def restore(self, data: bytes) -> None:
        """Use a saved model (ModelFileError if it must not be used: then train as usual)."""
        model, window = loads(data)
        wanted = type(self.model_factory(**self.model_params))
        usable = isinstance(model, AssetModel | SimilarityModel) and type(model) is wanted
        if not usable or not window.features:
            raise ModelFileError(
                f"not a {wanted.__name__} with feature names (the configured model); "
                "it will be retrained"
            )
        self.model = model
        self.names, self.model_names = list(window.features), list(window.features)
        self.trained_at, self.trained_window = window.end, window
        self.status = f"loaded model trained on {window.rows} windows"

    def _train(self, now: float) -> ScoringModel | None:
        healthy = self.history.healthy_rows()
        if len(healthy) < self.min_rows:
            return None
        try:
            model = self.model_factory(**self.model_params).fit(healthy)
        except ValueError as exc:  # e.g. too few usable rows: stay as we are, say why
            self.train_problem = f"cannot train on {len(healthy)} windows: {exc}"
            return None
        self.train_problem = ""
        self.model, self.trained_at = model, now
        self.model_names = list(self.names[: healthy.shape[1]])
        names = tuple(self.model_names)
        self.trained_window = TrainingWindow(self.history.oldest(), now, len(healthy), names)
        self.status = f"trained on {len(healthy)} windows"
        return model

    def _signal(
        self, model: ScoringModel, names: list[str], ts: float, row: FloatArray, score: float
    ) -> DerivedSignal:
        share = model.contributions(row[None, :])[0]
        top = np.argsort(share)[::-1][:3]
        evidence: dict[str, str | float] = {
            "top_features": ", ".join(f"{names[i]} ({share[i]:.1f})" for i in top),
            "threshold": 1.0,
            "model_trained_at": self.trained_at,
        }
        return DerivedSignal(
            self.site, self.asset, ANOMALY_SCORE, ts, score, MappingProxyType(evidence)
        )
