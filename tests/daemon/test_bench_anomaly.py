from __future__ import annotations

import json

import numpy as np
import pytest
from gatewatch.daemon.bench_anomaly import _runs, feature_rows, simulate_asset
from gatewatch.daemon.cli import main


def test_feature_rows_give_one_vector_per_ten_minutes() -> None:
    names, x = feature_rows(simulate_asset(1, seed=0))
    assert x.shape == (144, len(names))
    assert "rms_mean" in names and "bearing_temp_residual" in names


@pytest.mark.slow
def test_bench_anomaly_json_reports_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "anomaly", "--assets", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    costs, sim = doc["costs"], doc["simulation"]
    assert costs["train_readings"] == 3 * 30 * 1440
    assert costs["score_readings_per_s"] > 0 and costs["model_bytes_per_asset"] > 0
    assert 0 < costs["resident_state_kib_per_asset"] < 4096
    assert costs["headroom_vs_1000_series_per_min"] > 1
    assert sim["missed_before_zone_c"] == 0
    assert sim["lead_days_min"] >= 7
    assert sim["false_alerts_per_asset_year"] < 1
    healthy = doc["anomaly_score_healthy"]
    assert healthy["healthy_windows_scored"] > 7000
    assert healthy["for_3_windows_episodes_per_year"] <= healthy["single_window_episodes_per_year"]


def test_runs_count_episodes_of_a_minimum_length() -> None:
    flags = np.array([1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0], dtype=bool)
    assert _runs(flags, 1) == 3
    assert _runs(flags, 3) == 2
    assert _runs(flags, 5) == 0
