"""How much the SKAB figures move when one global parameter moves.

The detector's parameters are global (the same for every file) and fixed
in the code; this sweep changes one of them at a time around its default
and re-runs the whole protocol, so a reader can see whether the figures
sit on a plateau or on a peak picked with the labels' help.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from gatewatch.anomaly.benchmark.evaluate import SkabFile, SkabSettings, evaluate_skab
from gatewatch.anomaly.similarity import SimilarityModel

# parameter -> values tried (the default is among them); "debounce" is the evaluation's
SKAB_SWEEP: dict[str, tuple[float, ...]] = {
    "margin": (0.8, 1.0, 1.2, 1.5, 2.0),
    "smooth": (1, 5, 15, 30),
    "n_neighbors": (1, 5, 20),
    "quantile": (0.95, 0.99, 0.999),
    "max_slow_share": (0.25, 0.5, 0.75, math.inf),
    "block": (10, 20, 40),
    "rate_lag": (30, 60, 120),
    "rate_margin": (1.0, 2.0, 3.0, math.inf),
    "debounce": (1, 5, 15),
}
INT_PARAMS = frozenset({"smooth", "n_neighbors", "debounce", "block", "rate_lag"})


@dataclass(frozen=True, slots=True)
class SweepRow:
    parameter: str
    value: float
    default: bool
    f1: float
    far: float
    mar: float
    nab_standard: float
    nab_low_fp: float
    nab_low_fn: float


def _settings(parameter: str, value: float) -> SkabSettings:
    v: float = int(value) if parameter in INT_PARAMS else value
    if parameter == "debounce":
        return SkabSettings(detector="gatewatch-similarity", debounce=int(v))
    params: dict[str, Any] = {parameter: v}
    return SkabSettings(make=partial(SimilarityModel, **params))


def _is_default(parameter: str, value: float) -> bool:
    if parameter == "debounce":
        return value == SkabSettings().debounce
    return bool(SimilarityModel().get_params()[parameter] == value)


def skab_sensitivity(
    files: Sequence[SkabFile], sweep: dict[str, tuple[float, ...]] | None = None
) -> list[SweepRow]:
    """One protocol run per (parameter, value), the others at their defaults."""
    rows = []
    for parameter, values in (sweep or SKAB_SWEEP).items():
        for value in values:
            r = evaluate_skab(files, _settings(parameter, value))
            cp = [c.score for c in r.changepoint]
            rows.append(
                SweepRow(parameter, value, _is_default(parameter, value), r.f1, r.far, r.mar, *cp)
            )
    return rows
