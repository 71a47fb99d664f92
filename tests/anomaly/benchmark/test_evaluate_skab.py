"""SKAB protocol: the model and its threshold see only a file's first 400 rows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from gatewatch.anomaly.benchmark.evaluate import (
    SKAB_DETECTORS,
    SKAB_TRAIN_ROWS,
    RowModel,
    SkabFile,
    SkabSettings,
    debounce,
    evaluate_skab,
    skab_predict,
)
from gatewatch.anomaly.benchmark.sensitivity import skab_sensitivity
from gatewatch.anomaly.similarity import SimilarityModel


def skab_file(seed: int, fault: tuple[int, int] = (600, 800), rows: int = 1100) -> SkabFile:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (rows, 4))
    x[fault[0] : fault[1], 1] += 6.0
    anomaly = np.zeros(rows)
    anomaly[fault[0] : fault[1]] = 1.0
    cp = np.zeros(rows)
    cp[[fault[0], fault[1]]] = 1.0
    return SkabFile(f"valve1/{seed}.csv", np.arange(rows, dtype=float), x, anomaly, cp)


class Recorder:
    """A detector factory that keeps the models it made, to inspect what they were fit on."""

    def __init__(self) -> None:
        self.models: list[SimilarityModel] = []

    def __call__(self) -> RowModel:
        self.models.append(SimilarityModel())
        return self.models[-1]


def test_fit_sees_only_the_first_400_rows_never_the_labels_or_later_rows() -> None:
    f = skab_file(1)
    rec = Recorder()
    skab_predict(f, SkabSettings(make=rec))
    later = f.x.copy()
    later[SKAB_TRAIN_ROWS:] += np.random.default_rng(7).normal(0, 5, later[400:].shape)
    altered = replace(f, x=later, anomaly=1 - f.anomaly, changepoint=np.ones_like(f.changepoint))
    skab_predict(altered, SkabSettings(make=rec))
    first, second = rec.models
    assert first.memory_.shape[0] == SKAB_TRAIN_ROWS
    assert first.threshold_ == second.threshold_
    assert np.array_equal(first.memory_, second.memory_)


def test_predictions_are_causal_no_row_depends_on_a_later_row() -> None:
    f = skab_file(2)
    base = skab_predict(f, SkabSettings())
    cut = 700
    tail = f.x.copy()
    tail[cut:] = 0.0
    changed = skab_predict(replace(f, x=tail), SkabSettings())
    n = cut - SKAB_TRAIN_ROWS
    assert np.array_equal(base[:n], changed[:n])
    assert not np.array_equal(base, changed)


def test_both_detectors_find_a_six_sigma_fault_and_report_the_protocol_counts() -> None:
    files = [skab_file(s) for s in (3, 4)]
    for name in SKAB_DETECTORS:
        report = evaluate_skab(files, SkabSettings(detector=name))
        assert (report.files, report.test_rows, report.changepoints) == (2, 1400, 4)
        assert report.f1 > 0.9
        assert report.far < 5.0
        standard = report.changepoint[0]
        assert (standard.profile, standard.missed) == ("standard", 0)


def test_debounce_needs_that_many_disagreeing_rows_in_a_row() -> None:
    raw = np.array([0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1], bool)
    assert debounce(raw, 3).astype(int).tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0]


def test_sensitivity_moves_one_parameter_and_marks_the_default() -> None:
    files = [skab_file(5)]
    rows = skab_sensitivity(files, {"margin": (1.0, 50.0), "debounce": (5,)})
    assert [(r.parameter, r.value, r.default) for r in rows] == [
        ("margin", 1.0, True),
        ("margin", 50.0, False),
        ("debounce", 5, True),
    ]
    plain = evaluate_skab(files, SkabSettings())
    assert (rows[0].f1, rows[0].nab_standard) == (plain.f1, plain.changepoint[0].score)
    assert rows[1].mar == 100.0  # a threshold 50x the training level misses everything
