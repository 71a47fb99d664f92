"""The short soak CI runs: the per-series state (rules, anomaly, rule-state saves) does
not grow after warm-up (issue 18). Before the fix the same run grew 14 % in 30 min."""

from __future__ import annotations

import json

import pytest
from gatewatch.daemon.bench.soak import GROWTH_GOAL_PCT, soak
from gatewatch.daemon.commands.main import main


@pytest.mark.slow
def test_short_soak_heap_is_flat_after_warm_up() -> None:
    report = soak(100, 30 * 60, 10 * 60)
    assert report["warmup_s"] == 600 and len(report["samples"]) == 31
    assert report["heap_growth_pct"] < GROWTH_GOAL_PCT, report["samples"]
    assert report["heap_mib_after_warmup"] < 3.0  # ~1 MiB: 100 series of 300 s history


def test_soak_refuses_a_warm_up_as_long_as_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "soak", "--minutes", "10", "--warmup", "10"]) == 2
    assert "--minutes must be at least --warmup + 10" in capsys.readouterr().out


@pytest.mark.slow
def test_soak_json_says_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "soak", "--series", "20", "--minutes", "20", "--warmup", "5"]) == 0
    capsys.readouterr()
    assert (
        main(["bench", "soak", "--series", "20", "--minutes", "20", "--warmup", "5", "--json"]) == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True and doc["series"] == 20 and doc["state_bytes_written"] > 0
