"""``gatewatch bench rules``: figures, ratios to the goals, and a profile when short."""

from __future__ import annotations

import json

import pytest
from gatewatch.daemon.bench.hotspots import profiled
from gatewatch.daemon.commands.main import main


def _busy(n: int) -> int:
    return sum(i * i for i in range(n))


def test_profiled_returns_the_result_and_the_hot_functions() -> None:
    result, hot = profiled(lambda: [_busy(20_000) for _ in range(5)], limit=3)
    assert result == [_busy(20_000)] * 5
    assert len(hot) == 3
    assert hot[0].own_seconds >= hot[1].own_seconds >= hot[2].own_seconds >= 0
    assert hot[0].own_seconds > 0
    assert any("genexpr" in h.function or "_busy" in h.function for h in hot)
    assert 0 < hot[0].share <= 1.01


def test_bench_rules_json_reports_ratios_and_a_profile_only_when_short(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["bench", "rules", "--readings", "3000", "--backtest-days", "0.05", "--json"]
    assert main([*args, "--no-profile"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(e["rules"], e["series"]) for e in report["engine"]] == [(1000, 10_000), (10, 10)]
    assert all(e["readings"] == 3000 and e["ratio_to_goal"] > 0 for e in report["engine"])
    assert report["backtest"]["readings"] == 72 * 100
    bt = report["backtest"]  # the reader process's CPU time is counted in the total
    assert 0 < bt["reader_cpu_seconds"] < bt["cpu_seconds"]
    assert "profile" not in report
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    short = [r for r in [*report["engine"], report["backtest"]] if r["ratio_to_goal"] < 1]
    assert ("profile" in report) == bool(short)
    for hot in report.get("profile", {}).values():
        assert hot and all(h["own_seconds"] >= 0 for h in hot)
