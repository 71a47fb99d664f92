"""Every YAML file the daemon reads is bounded: config, assets, rules, silences, rule
tests. A 100 MB file, a billion laughs or deep nesting gives a clear error naming the
file and the limit, fast, in little memory, and never a traceback (issue 18)."""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from gatewatch.core.yamlsource import ConfigError
from gatewatch.daemon.config.load import load_config
from gatewatch.daemon.config.rulefiles import load_rule_files
from gatewatch.daemon.offline.ruletests import load_test_file
from gatewatch.daemon.run.rules_runtime import RulesRuntime, RulesSettings

from tests.core.test_yaml_limits import billion_laughs
from tests.rules.rulehelpers import ASSETS

GATEWATCH = (sys.executable, "-m", "gatewatch.daemon.commands.main")
RULE = "rules:\n  - id: hot\n    select: {metric: temperature}\n    when: {above: 30}\n"


def hundred_mb(path: Path) -> Path:
    with path.open("wb") as fh:  # sparse: 100 MB on paper, nothing on disk
        fh.truncate(100 * 1024 * 1024)
    return path


def test_a_100_mb_config_is_refused_after_reading_the_limit(tmp_path: Path) -> None:
    path = hundred_mb(tmp_path / "gatewatch.yaml")
    tracemalloc.start()
    began = time.perf_counter()
    try:
        with pytest.raises(ConfigError) as err:
            load_config(path)
        seconds, peak = time.perf_counter() - began, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(err.value).startswith(f"{path}:1:1: file too large: 8,388,609 bytes or more")
    assert "8,388,608" in str(err.value) and "max_bytes" in str(err.value)
    assert seconds < 2.0 and peak < 20 * 1024 * 1024


@pytest.mark.parametrize("bomb", ["laughs", "deep", "huge"])
def test_config_check_refuses_a_hostile_assets_file_with_exit_1(tmp_path: Path, bomb: str) -> None:
    assets = tmp_path / "assets.yaml"
    if bomb == "huge":
        hundred_mb(assets)
    else:
        assets.write_text(billion_laughs() if bomb == "laughs" else "assets: " + "[" * 50_000)
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("site: hq\nstate_dir: state\n")
    began = time.perf_counter()
    res = subprocess.run(
        [*GATEWATCH, "config", "check", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert time.perf_counter() - began < 20  # the interpreter's start included
    assert res.returncode == 1, res.stderr
    limit = {"laughs": "max_values", "deep": "max_depth", "huge": "max_bytes"}[bomb]
    assert f"{assets}:" in res.stderr and limit in res.stderr
    assert "Traceback" not in res.stderr


def test_a_hostile_rule_file_is_reported_with_the_good_ones(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(RULE)
    (tmp_path / "b.yaml").write_text(billion_laughs())
    with pytest.raises(ConfigError) as err:
        load_rule_files([tmp_path], ASSETS)
    assert [p.location.file for p in err.value.problems] == [str(tmp_path / "b.yaml")]
    assert "max_values" in str(err.value)


def test_a_hostile_rule_test_file_is_refused(tmp_path: Path) -> None:
    path = hundred_mb(tmp_path / "t.yaml")
    with pytest.raises(ConfigError, match="file too large"):
        load_test_file(path)


def test_a_hostile_silences_file_is_counted_and_the_last_good_silences_kept(
    tmp_path: Path,
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULE)
    silences = tmp_path / "silences.yaml"
    silences.write_text(
        "silences:\n  - id: s1\n    match: {asset: server-room-1}\n"
        "    starts: 2020-01-01T00:00:00Z\n    ends: 2099-01-01T00:00:00Z\n"
        "    comment: works\n"
    )
    settings = RulesSettings(paths=[tmp_path / "rules"], silences_file=silences, refresh_every=0)
    rt = RulesRuntime(settings, ASSETS, tmp_path / "state.db", site="hq", clock=lambda: 1e9)
    rt.start()
    assert rt.counters["silence_errors"] == 0 and len(rt._yaml_mutes) == 1
    silences.write_text(billion_laughs())
    rt.on_tick()
    assert rt.counters["silence_errors"] == 1 and len(rt._yaml_mutes) == 1
    hundred_mb(silences)
    rt.on_tick()
    assert rt.counters["silence_errors"] == 2 and len(rt._yaml_mutes) == 1
