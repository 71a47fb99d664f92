from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
from gatewatch.anomaly.pipeline import AnomalyPipeline
from gatewatch.anomaly.scorer import AssetScorer
from gatewatch.daemon.state.anomaly_models import ModelStore

T0 = 1_700_006_400.0


def pipeline() -> AnomalyPipeline:
    return AnomalyPipeline(
        lambda _asset: None, scorer_factory=lambda s, a: AssetScorer(s, a, min_rows=120)
    )


def features(rng: np.random.Generator) -> dict[str, float]:
    rms = 1.6 + rng.normal(0, 0.05)
    return {"rms_mean": rms, "peak_mean": 3 * rms + rng.normal(0, 0.1)}


def trained(p: AnomalyPipeline) -> AssetScorer:
    rng = np.random.default_rng(0)
    scorer = p.scorer("hq", "pump-1")
    for i in range(120):
        scorer.observe(T0 + i * 600, features(rng))
    assert scorer.model is not None
    return scorer


def test_a_trained_model_survives_a_restart_and_scores_the_same(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    before = pipeline()
    scorer = trained(before)
    store = ModelStore(db)
    assert store.save_changed(before, T0) == 1
    assert store.save_changed(before, T0 + 60) == 0  # nothing retrained since
    after = pipeline()
    assert ModelStore(db).restore(after) == 1
    again = after.scorers[("hq", "pump-1")]
    assert again.status == "loaded model trained on 120 windows"
    row = {"rms_mean": 2.4, "peak_mean": 7.0}
    ts = T0 + 130 * 600
    assert again.observe(ts, row)[0].value == scorer.observe(ts, row)[0].value


def test_an_old_or_damaged_model_is_refused_deleted_and_left_to_retrain(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    p = pipeline()
    trained(p)
    ModelStore(db).save_changed(p, T0)
    with sqlite3.connect(db) as conn:
        (data,) = conn.execute("SELECT data FROM anomaly_models").fetchone()
        doc = json.loads(data)
        doc["version"] = 0
        conn.execute("UPDATE anomaly_models SET data = ?", (json.dumps(doc).encode(),))
    store = ModelStore(db)
    fresh = pipeline()
    assert store.restore(fresh) == 0
    assert store.counts.refused == 1
    assert fresh.scorers == {}  # cold start: trains from history as on a first start
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM anomaly_models").fetchone() == (0,)
