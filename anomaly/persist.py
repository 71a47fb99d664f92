"""Saving fitted models as plain JSON (no pickle): version, kind, training window, arrays.

A file from another format version, of another kind, or damaged in any way
is refused with :class:`ModelFileError` saying what is wrong; the daemon then
retrains instead of loading it blindly. Nothing in a model file is executed.
Where the bytes are kept is the daemon's business (daemon/state/anomaly_models.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
from gatewatch.anomaly.models import AssetModel, RobustBaseline
from gatewatch.anomaly.similarity import SimilarityModel
from sklearn.neighbors import NearestNeighbors

FORMAT = "gatewatch-anomaly-model"
VERSION = 1
Model: TypeAlias = AssetModel | RobustBaseline | SimilarityModel

# kind -> (class, constructor parameters, fitted array attributes, fitted scalar attributes)
_KINDS: dict[str, tuple[type, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "asset_model": (
        AssetModel,
        ("quantile", "margin", "smooth"),
        ("center_", "scale_", "location_", "precision_"),
        ("threshold_", "n_features_in_"),
    ),
    # the nearest-neighbour index is rebuilt from memory_ on load, never stored
    "similarity_model": (
        SimilarityModel,
        (
            "n_neighbors",
            "quantile",
            "margin",
            "smooth",
            "block",
            "max_slow_share",
            "rate_lag",
            "rate_margin",
        ),
        ("columns_", "center_", "scale_", "memory_", "slow_columns_", "rate_limit_"),
        ("threshold_", "n_features_in_"),
    ),
    "robust_baseline": (
        RobustBaseline,
        ("period_s", "n_slots", "min_per_slot"),
        ("median_", "mad_", "scale_"),
        ("n_features_in_",),
    ),
}


class ModelFileError(ValueError):
    """A model file that must not be loaded; the message says why."""


@dataclass(frozen=True, slots=True)
class TrainingWindow:
    """What a model was trained on: the time span, the rows and the feature columns."""

    start: float  # epoch seconds of the first training reading
    end: float
    rows: int
    features: tuple[str, ...] = ()  # column names, in order (empty: not recorded)


def _kind_of(model: Model) -> str:
    for kind, (cls, *_rest) in _KINDS.items():
        if type(model) is cls:
            return kind
    raise TypeError(f"cannot save a {type(model).__name__}")


def dumps(model: Model, window: TrainingWindow) -> bytes:
    """Serialise a fitted model and its training window as JSON bytes."""
    kind = _kind_of(model)
    _, params, arrays, scalars = _KINDS[kind]
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "training_window": {
            "start": window.start,
            "end": window.end,
            "rows": window.rows,
            "features": list(window.features),
        },
        "params": {p: getattr(model, p) for p in params},
        "arrays": {a: np.asarray(getattr(model, a)).tolist() for a in arrays},
        "scalars": {s: getattr(model, s) for s in scalars},
    }
    return json.dumps(doc, allow_nan=False).encode()


def loads(data: bytes) -> tuple[Model, TrainingWindow]:
    """Rebuild a model from :func:`dumps` output; ModelFileError if it must not be used."""
    doc = _parse(data)
    kind = doc.get("kind")
    if kind not in _KINDS:
        raise ModelFileError(f"unknown model kind {kind!r}; delete the file to retrain")
    try:
        model, window = _build(doc, *_KINDS[kind]), _window(doc["training_window"])
        n = getattr(model, "n_features_in_", None)
        multi = isinstance(model, AssetModel | SimilarityModel)
        if multi and window.features and len(window.features) != n:
            raise ValueError(f"{len(window.features)} feature names for {n} features")
        return model, window
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"model file is damaged ({exc!r}); delete it to retrain") from None


def _parse(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise ModelFileError("model file is not valid JSON (corrupt or truncated)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"not a gatewatch model file (format must be {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise ModelFileError(
            f"model file version {doc.get('version')!r} is not the supported version "
            f"{VERSION}; it will be retrained"
        )
    return doc


def _build(
    doc: dict[str, Any],
    cls: type,
    params: tuple[str, ...],
    arrays: tuple[str, ...],
    scalars: tuple[str, ...],
) -> Model:
    model: Model = cls(**{p: doc["params"][p] for p in params})
    for name in arrays:
        value = np.asarray(doc["arrays"][name], dtype=np.float64)
        if not np.isfinite(value).all():
            raise ValueError(f"{name} has non-finite values")
        setattr(model, name, value)
    for name in scalars:
        setattr(model, name, doc["scalars"][name])
    _check_shapes(model)
    return model


def _check_shapes(model: Model) -> None:
    if isinstance(model, AssetModel):
        n = int(model.n_features_in_)
        if model.precision_.shape != (n, n) or model.center_.shape != (n,):
            raise ValueError(f"array shapes do not match {n} features")
        if not (math.isfinite(model.threshold_) and model.threshold_ > 0):
            raise ValueError("threshold_ must be finite and > 0")
    elif isinstance(model, SimilarityModel):
        _check_similarity(model)
    elif model.median_.shape != (int(model.n_slots),):
        raise ValueError(f"median_ must have {model.n_slots} slots")


def _indices(values: np.ndarray[Any, Any], n: int, name: str) -> np.ndarray[Any, Any]:
    if values.ndim != 1 or not np.array_equal(values, np.round(values)):
        raise ValueError(f"{name} must be a list of column numbers")
    if values.size and (values.min() < 0 or values.max() >= n):
        raise ValueError(f"{name} must be column numbers below {n}")
    return values.astype(np.int64)


def _check_similarity(model: SimilarityModel) -> None:
    """Check the arrays against each other, then rebuild the neighbour index from memory_."""
    n = int(model.n_features_in_)
    model.columns_ = _indices(model.columns_, n, "columns_")
    model.slow_columns_ = _indices(model.slow_columns_, n, "slow_columns_")
    kept, slow = model.columns_.size, model.slow_columns_.size
    if kept == 0 or kept + slow != n or np.intersect1d(model.columns_, model.slow_columns_).size:
        raise ValueError(f"columns_ and slow_columns_ must split the {n} features")
    if model.center_.shape != (kept,) or model.scale_.shape != (kept,):
        raise ValueError(f"center_ and scale_ must have {kept} values")
    if model.memory_.ndim != 2 or model.memory_.shape[1] != kept:
        raise ValueError(f"memory_ must be rows of {kept} values")
    if model.memory_.shape[0] < int(model.n_neighbors) + 1:
        raise ValueError(f"memory_ needs more than n_neighbors={model.n_neighbors} rows")
    if model.rate_limit_.shape != (slow,) or (model.rate_limit_ <= 0).any():
        raise ValueError(f"rate_limit_ must have {slow} values > 0")
    if (model.scale_ <= 0).any() or not (math.isfinite(model.threshold_) and model.threshold_ > 0):
        raise ValueError("scale_ and threshold_ must be > 0")
    model.neighbors_ = NearestNeighbors(n_neighbors=model.n_neighbors).fit(model.memory_)


def _window(raw: dict[str, Any]) -> TrainingWindow:
    names = raw.get("features", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise TypeError("training_window.features must be a list of names")
    return TrainingWindow(float(raw["start"]), float(raw["end"]), int(raw["rows"]), tuple(names))
