from __future__ import annotations

import json

import numpy as np
import pytest
from gatewatch.anomaly.models import AssetModel, RobustBaseline
from gatewatch.anomaly.persist import (
    ModelFileError,
    TrainingWindow,
    dumps,
    loads,
)
from gatewatch.anomaly.similarity import SimilarityModel

WINDOW = TrainingWindow(1_700_000_000.0, 1_702_592_000.0, 43_200, ("a", "b", "c"))


def fitted() -> AssetModel:
    return AssetModel(margin=2.0).fit(np.random.default_rng(0).normal(size=(200, 3)))


def test_round_trip_gives_identical_scores_and_window() -> None:
    model = fitted()
    x = np.random.default_rng(1).normal(size=(30, 3))
    again, window = loads(dumps(model, WINDOW))
    assert window == WINDOW
    assert again.get_params() == model.get_params()
    np.testing.assert_allclose(again.score_samples(x), model.score_samples(x))
    base = RobustBaseline().fit(np.column_stack([np.arange(0, 86_400.0 * 2, 600), np.ones(288)]))
    b2, _ = loads(dumps(base, WINDOW))
    np.testing.assert_array_equal(b2.median_, base.median_)


def test_file_is_plain_json_with_version_and_training_window() -> None:
    doc = json.loads(dumps(fitted(), WINDOW))
    assert doc["format"] == "gatewatch-anomaly-model"
    assert doc["version"] == 1
    assert doc["training_window"] == {
        "start": WINDOW.start,
        "end": WINDOW.end,
        "rows": 43_200,
        "features": ["a", "b", "c"],
    }


def similar() -> SimilarityModel:
    """Three steady channels and a slow warm-up (screened: a rate limit of its own)."""
    rng = np.random.default_rng(2)
    x = np.column_stack([rng.normal(size=(300, 3)), np.arange(300.0) / 30])
    return SimilarityModel(4, margin=1.2, rate_lag=20).fit(x)


SIM_WINDOW = TrainingWindow(1.0, 2.0, 300, ("a", "b", "c", "warm"))


def test_similarity_round_trip_rebuilds_the_index_and_gives_identical_scores() -> None:
    model = similar()
    doc = json.loads(dumps(model, SIM_WINDOW))
    assert doc["kind"] == "similarity_model"
    assert "neighbors_" not in doc["arrays"] and len(doc["arrays"]["memory_"]) == 300
    again, window = loads(dumps(model, SIM_WINDOW))
    assert window == SIM_WINDOW and isinstance(again, SimilarityModel)
    assert again.get_params() == model.get_params()
    assert again.columns_.tolist() == [0, 1, 2] and again.slow_columns_.tolist() == [3]
    x = np.column_stack([np.random.default_rng(3).normal(size=(60, 3)), np.arange(60.0)])
    np.testing.assert_array_equal(again.score_samples(x), model.score_samples(x))
    np.testing.assert_array_equal(again.contributions(x), model.contributions(x))


def _tamper(edit: object, model: object = None) -> bytes:
    if model is not None:
        doc = json.loads(dumps(model, SIM_WINDOW))  # type: ignore[arg-type]
        edit(doc)  # type: ignore[operator]
        return json.dumps(doc).encode()
    doc = json.loads(dumps(fitted(), WINDOW))
    edit(doc)  # type: ignore[operator]
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not valid JSON"),
        (b"\x80\x04\x95 pickle", "not valid JSON"),
        (b'{"format": "gatewatch-anomaly-model", "version": 1, "ki', "not valid JSON"),
        (b"[1, 2]", "not a gatewatch model file"),
        (_tamper(lambda d: d.update(version=0)), "version 0 is not the supported version 1"),
        (_tamper(lambda d: d.update(kind="pickle")), "unknown model kind"),
        (_tamper(lambda d: d["arrays"].pop("precision_")), "damaged"),
        (_tamper(lambda d: d["arrays"].update(precision_=[[1.0]])), "damaged"),
        (_tamper(lambda d: d["scalars"].update(threshold_=-1)), "damaged"),
        (_tamper(lambda d: d["training_window"].update(features=["a"])), "damaged"),
        (_tamper(lambda d: d["training_window"].update(features="abc")), "damaged"),
    ],
)
def test_old_version_or_corrupt_files_are_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(ModelFileError, match=message):
        loads(data)


def _sim_tamper(edit: object) -> bytes:
    return _tamper(edit, similar())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_sim_tamper(lambda d: d["arrays"].pop("memory_")), "damaged"),
        (_sim_tamper(lambda d: d["arrays"].update(memory_=[[0.0, 1.0]] * 5)), "memory_ must be"),
        (_sim_tamper(lambda d: d["arrays"].update(memory_=[[0.0] * 3] * 4)), "n_neighbors"),
        (_sim_tamper(lambda d: d["arrays"].update(columns_=[0, 1, 7])), "below 4"),
        (_sim_tamper(lambda d: d["arrays"].update(columns_=[0, 1, 2.5])), "column numbers"),
        (_sim_tamper(lambda d: d["arrays"].update(slow_columns_=[2])), "split the 4"),
        (_sim_tamper(lambda d: d["arrays"].update(rate_limit_=[0.0])), "rate_limit_"),
        (_sim_tamper(lambda d: d["arrays"].update(scale_=[1.0, 1.0])), "center_ and scale_"),
        (_sim_tamper(lambda d: d["scalars"].update(threshold_=0)), "threshold_ must be"),
        (_sim_tamper(lambda d: d["params"].pop("n_neighbors")), "damaged"),
        (_sim_tamper(lambda d: d["training_window"].update(features=["a"])), "4 features"),
    ],
)
def test_damaged_similarity_files_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ModelFileError, match=message):
        loads(data)
