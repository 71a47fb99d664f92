from __future__ import annotations

import json

import numpy as np
import pytest
from gatewatch.anomaly.persist import ModelFileError
from gatewatch.anomaly.scorer import MODELS, AssetScorer
from gatewatch.anomaly.similarity import SimilarityModel
from gatewatch.core.signals import ANOMALY_SCORE

T0 = 1_700_006_400.0


def window(rng: np.random.Generator, shift: float = 0.0) -> dict[str, float]:
    rms = 1.6 + rng.normal(0, 0.05)
    return {
        "rms_mean": rms,
        "peak_mean": 3 * rms + rng.normal(0, 0.1),
        "bearing_temp_residual": rng.normal(0, 0.3) + shift,
    }


def test_cold_start_then_scores_with_the_contributing_feature_named() -> None:
    rng = np.random.default_rng(0)
    scorer = AssetScorer("hq", "pump-1", min_rows=200, retrain_every_s=86_400)
    for i in range(199):
        assert scorer.observe(T0 + i * 600, window(rng)) == []
    assert scorer.status == "cold start: 199 of 200 windows"
    sigs = scorer.observe(T0 + 199 * 600, window(rng))
    assert scorer.status == "trained on 200 windows"
    assert [s.metric for s in sigs] == [ANOMALY_SCORE]
    normal = [scorer.observe(T0 + (200 + i) * 600, window(rng))[0].value for i in range(50)]
    assert np.mean(np.array(normal) > 1) < 0.1
    for i in range(5):  # smoothing over 5 windows: the fault shows within them
        hot = scorer.observe(T0 + (250 + i) * 600, window(rng, shift=5.0))[0]
    assert hot.value > 1
    assert str(hot.evidence["top_features"]).startswith("bearing_temp_residual")


def test_retraining_leaves_clearly_anomalous_windows_out_and_tolerates_missing_features() -> None:
    rng = np.random.default_rng(1)
    scorer = AssetScorer("hq", "pump-1", min_rows=150, retrain_every_s=86_400)
    for i in range(150):
        scorer.observe(T0 + i * 600, window(rng))
    first = scorer.trained_at
    for i in range(150, 210):
        features = window(rng, shift=8.0)
        if i % 10 == 0:
            features.pop("peak_mean")  # a metric that did not arrive this window
        scorer.observe(T0 + i * 600, features)
    strong = int((scorer.history.scores[:210] > 3.0).sum())
    assert strong >= 50
    scorer.observe(first + 86_400, window(rng))  # a day later: retrain before scoring
    assert scorer.trained_at == first + 86_400
    assert scorer.status == f"trained on {210 - strong} windows"


def test_snapshot_restores_after_a_restart_and_bad_files_are_refused() -> None:
    rng = np.random.default_rng(2)
    scorer = AssetScorer("hq", "pump-1", min_rows=150)
    assert scorer.snapshot() is None  # cold start: nothing to save
    for i in range(160):
        scorer.observe(T0 + i * 600, window(rng))
    data = scorer.snapshot()
    assert data is not None
    doc = json.loads(data)
    assert doc["training_window"]["features"] == ["bearing_temp_residual", "peak_mean", "rms_mean"]
    assert doc["training_window"]["start"] == T0
    after = AssetScorer("hq", "pump-1", min_rows=150)
    after.restore(data)
    assert after.status == "loaded model trained on 150 windows"
    probe = window(rng, shift=9.0)
    assert (
        after.observe(T0 + 200 * 600, probe)[0].value
        == scorer.observe(T0 + 200 * 600, probe)[0].value
    )
    fresh = AssetScorer("hq", "pump-1")
    with pytest.raises(ModelFileError, match="version 0"):
        fresh.restore(data.replace(b'"version": 1', b'"version": 0'))
    assert fresh.model is None and fresh.status.startswith("cold start")


def test_a_feature_that_appears_later_joins_the_model_at_training() -> None:
    rng = np.random.default_rng(4)
    scorer = AssetScorer("hq", "ahu-1", min_rows=150)
    for i in range(160):
        features = window(rng)
        if i < 40:
            features.pop("bearing_temp_residual")  # its profile is still being learnt
        scorer.observe(T0 + i * 600, features)
    assert scorer.model_names == ["peak_mean", "rms_mean", "bearing_temp_residual"]
    sig = scorer.observe(T0 + 160 * 600, window(rng, shift=9.0))[0]
    assert sig.value > 1
    assert str(sig.evidence["top_features"]).startswith("bearing_temp_residual")


def test_training_that_cannot_work_leaves_the_scorer_in_cold_start_with_a_reason() -> None:
    scorer = AssetScorer("hq", "p", min_rows=3)
    wide = {f"f{i}": float(i) for i in range(8)}  # 8 features need at least 16 rows
    for i in range(5):
        assert scorer.observe(T0 + i * 600, wide) == []
    assert scorer.model is None
    assert scorer.status == (
        "cold start: 5 of 3 windows; cannot train on 5 windows: need at least 16 finite rows, got 5"
    )


def test_similarity_model_flags_a_shift_and_names_the_shifted_feature_first() -> None:
    rng = np.random.default_rng(5)
    scorer = AssetScorer("hq", "pump-1", min_rows=200, model_factory=MODELS["similarity"])
    for i in range(200):
        scorer.observe(T0 + i * 600, window(rng))
    assert isinstance(scorer.model, SimilarityModel)
    normal = [scorer.observe(T0 + (200 + i) * 600, window(rng))[0].value for i in range(300)]
    assert np.mean(np.array(normal) > 1) < 0.05
    for i in range(5):  # smoothed over the last 5 windows, from the scorer's history
        hot = scorer.observe(T0 + (500 + i) * 600, window(rng, shift=5.0))[0]
    assert hot.value > 1
    assert str(hot.evidence["top_features"]).startswith("bearing_temp_residual")
    history = scorer.history.recent(300)[:, :3]
    assert hot.value == pytest.approx(scorer.model.score_samples(history)[-1])


def test_a_saved_model_of_another_kind_than_configured_is_refused() -> None:
    rng = np.random.default_rng(6)
    similar = AssetScorer("hq", "pump-1", min_rows=150, model_factory=MODELS["similarity"])
    for i in range(160):
        similar.observe(T0 + i * 600, window(rng))
    data = similar.snapshot()
    assert data is not None and json.loads(data)["kind"] == "similarity_model"
    again = AssetScorer("hq", "pump-1", model_factory=MODELS["similarity"])
    again.restore(data)
    probe = window(rng, shift=9.0)
    assert again.observe(T0 + 200 * 600, probe)[0].value > 1
    with pytest.raises(ModelFileError, match="not a AssetModel"):
        AssetScorer("hq", "pump-1").restore(data)


def test_history_grows_with_the_windows_seen_and_stops_at_max_rows() -> None:
    """A new asset holds only what it has seen (a room sensor in cold start is not given
    30 days of rows), and a full buffer wraps at max_rows instead of growing."""
    rng = np.random.default_rng(3)
    scorer = AssetScorer("hq", "room-1", min_rows=10_000, max_rows=500)
    for i in range(10):
        scorer.observe(T0 + i * 600, window(rng))
    assert scorer.history.allocated == 64
    assert scorer.history.rows.nbytes <= 64 * 3 * 8
    for i in range(10, 1200):
        scorer.observe(T0 + i * 600, window(rng))
    assert scorer.history.allocated == 500 and len(scorer.history) == 500
    assert scorer.history.oldest() == T0 + 700 * 600  # the last 500 windows, in a ring
    last = scorer.history.recent(2)
    assert last.shape == (2, 3) and np.isfinite(last).all()
