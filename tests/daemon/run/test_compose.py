"""The composition root: one start order, its exact reverse for stop, a failed start
unwound; `gatewatch run` and `gatewatch demo` start and stop the same stages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from gatewatch.core.yamlsource import ConfigError
from gatewatch.daemon.config.load import load_config
from gatewatch.daemon.demo.runner import demo_config, play
from gatewatch.daemon.run.compose import STAGES, Daemon, build
from gateway_process import ASSETS, Gateway, wait_for
from servers import Mosquitto

RULES = Path(__file__).parents[3] / "config" / "rules"


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "gatewatch.yaml"
    path.write_text(
        f"site: hq\nstate_dir: {tmp_path / 'state'}\nassets: {ASSETS}\n"
        "mqtt: {port: 1}\nhttp: {enabled: false}\n" + extra  # no broker: nothing connects
    )
    return path


def started_and_stopped(path: Path) -> Daemon:
    async def run() -> Daemon:
        daemon = build(load_config(path), path, env={})
        await daemon.start()
        await daemon.stop()
        return daemon

    return asyncio.run(run())


def test_stages_stop_in_the_exact_reverse_of_their_start(tmp_path: Path) -> None:
    daemon = started_and_stopped(config(tmp_path, f"rules: {{paths: [{RULES}]}}\n"))
    trail = daemon.lifecycle.trail
    starts = [t.removeprefix("start ") for t in trail if t.startswith("start ")]
    stops = [t.removeprefix("stop ") for t in trail if t.startswith("stop ")]
    assert trail == [f"start {s}" for s in starts] + [f"stop {s}" for s in stops]
    assert tuple(starts) == STAGES == ("tickets", "rules", "anomaly", "ops", "store", "ingest")
    assert stops == starts[::-1]


def test_without_rules_every_stage_still_runs(tmp_path: Path) -> None:
    daemon = started_and_stopped(config(tmp_path))
    assert daemon.rules.runtime is None  # idle, not missing
    assert [t for t in daemon.lifecycle.trail if t.startswith("start ")] == [
        f"start {s}" for s in STAGES
    ]


def test_a_failed_start_stops_the_stages_already_started_in_reverse(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "lifts.yaml").write_text((RULES / "lifts.yaml").read_text())
    path = config(tmp_path, f"rules: {{paths: [{rules}]}}\n")
    cfg = load_config(path)
    (rules / "lifts.yaml").write_text("rules: [{id: x}]\n")  # broken after the config loaded
    daemon = build(cfg, path, env={})
    with pytest.raises(ConfigError):
        asyncio.run(daemon.start())
    assert daemon.lifecycle.trail == ["start tickets", "stop tickets"]


@pytest.mark.slow
def test_run_and_demo_start_and_stop_the_same_stages(tmp_path: Path, mosquitto: Mosquitto) -> None:
    gw = Gateway(tmp_path / "run", mosquitto.port)
    gw.workdir.mkdir()
    gw.write_config(f"rules: {{paths: [{RULES}]}}\n")
    gw.start().wait_http()
    try:
        wait_for(lambda: gw.healthz()[0] == 200, 20, "/healthz 200")
    finally:
        assert gw.stop() == 0
    logged = gw.events()
    run = [f"start {e['stage']}" for e in logged if e["event"] == "stage_started"]
    run += [f"stop {e['stage']}" for e in logged if e["event"] == "stage_stopping"]

    (tmp_path / "demo").mkdir()
    played = asyncio.run(play(demo_config(tmp_path / "demo", mosquitto.port), 2, quiet=True))
    assert played.summary["messages_lost"] == 0
    assert list(played.trail) == run
    assert run == [f"start {s}" for s in STAGES] + [f"stop {s}" for s in reversed(STAGES)]
