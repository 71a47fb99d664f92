from __future__ import annotations

import json

import numpy as np
import pytest
from gatewatch.daemon.bench.anomaly import _runs, feature_rows, simulate_asset
from gatewatch.daemon.commands.main import main


def test_feature_rows_give_one_vector_per_ten_minutes() -> None:
    names, x = feature_rows(simulate_asset(1, seed=0))
    assert x.shape == (144, len(names))
    assert "rms_mean" in names and "bearing_temp_residual" in names


@pytest.mark.slow
def test_bench_anomaly_json_reports_every_figure_for_both_models(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "anomaly", "--assets", "1", "--json"]) == 0  # --model both
    doc = json.loads(capsys.readouterr().out)
    sim = doc["simulation"]
    assert sim["missed_before_zone_c"] == 0
    assert sim["lead_days_min"] >= 7
    assert sim["false_alerts_per_asset_year"] < 1
    for model in ("covariance", "similarity"):
        costs = doc[f"costs[{model}]"]
        assert costs["train_readings"] == 3 * 30 * 1440
        assert costs["score_readings_per_s"] > 0 and costs["model_bytes_per_asset"] > 0
        assert 0 < costs["resident_state_kib_per_asset"] < 4096
        assert costs["headroom_vs_1000_series_per_min"] > 1
        assert costs["scorer_ms_per_window"] > 0
        healthy = doc[f"anomaly_score_healthy[{model}]"]
        assert healthy["healthy_windows_scored"] > 7000
        assert (
            healthy["for_3_windows_episodes_per_year"] <= healthy["single_window_episodes_per_year"]
        )
        wearing = doc[f"anomaly_score_wearing[{model}]"]
        assert wearing["zone_c_day"] > wearing["onset_day"] == 15
        assert wearing["episodes_before_onset"] >= 0
    ratio = doc["ratio_similarity_to_covariance"]
    sim_bytes = doc["costs[similarity]"]["model_bytes_per_asset"]
    cov_bytes = doc["costs[covariance]"]["model_bytes_per_asset"]
    assert ratio["model_bytes_per_asset"] == round(sim_bytes / cov_bytes, 2)


def test_ratios_take_numeric_figures_with_a_nonzero_base() -> None:
    from gatewatch.daemon.bench import anomaly as bench_anomaly

    doc = bench_anomaly._ratios({"a": 2, "b": 0, "c": "x"}, {"a": 3, "b": 1, "c": "y"})
    assert doc == {"a": 1.5}


def test_runs_count_episodes_of_a_minimum_length() -> None:
    flags = np.array([1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0], dtype=bool)
    assert _runs(flags, 1) == 3
    assert _runs(flags, 3) == 2
    assert _runs(flags, 5) == 0


def test_run_ends_mark_where_each_episode_reaches_its_length() -> None:
    from gatewatch.daemon.bench.anomaly import _run_ends

    flags = np.array([1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0], dtype=bool)
    assert _run_ends(flags, 3).tolist() == [2, 8]
    assert _run_ends(flags, 1).tolist() == [0, 4, 6]
