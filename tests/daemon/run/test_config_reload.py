"""SIGHUP: the configuration is validated again; the last good one stays on error."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from gatewatch.core.yamlsource import ConfigError, Location, Problem
from gatewatch.daemon.config.load import Config, load_config
from gatewatch.daemon.run.config_reload import ConfigReloader
from gateway_process import ASSETS, Gateway, wait_for
from servers import Mosquitto


def write(path: Path, port: int) -> Path:
    path.write_text(
        f"site: hq\nstate_dir: {path.parent}\nassets: {ASSETS}\nmqtt: {{port: {port}}}\n"
    )
    return path


def test_valid_change_is_taken(tmp_path: Path) -> None:
    cfg = write(tmp_path / "gatewatch.yaml", 1883)
    handed: list[tuple[int, int]] = []
    reloader = ConfigReloader(
        cfg,
        load_config(cfg),
        subscribers=[lambda old, new: handed.append((old.mqtt.port, new.mqtt.port))],
    )
    write(cfg, 1884)
    assert reloader.reload()
    assert reloader.current.mqtt.port == 1884
    assert handed == [(1883, 1884)]
    assert (reloader.stats.successes, reloader.stats.failures) == (1, 0)


def test_broken_file_keeps_the_last_good_one(tmp_path: Path) -> None:
    cfg = write(tmp_path / "gatewatch.yaml", 1883)
    good = load_config(cfg)
    handed: list[Config] = []
    reloader = ConfigReloader(cfg, good, subscribers=[lambda old, new: handed.append(new)])
    cfg.write_text(cfg.read_text() + "mqtt_typo: 1\n")
    assert not reloader.reload()
    assert reloader.current is good
    assert handed == []
    assert reloader.stats.failures == 1
    assert reloader.stats.last_error.startswith(f"{cfg}:5:1")


def test_a_subscriber_refusing_keeps_the_last_good_one(tmp_path: Path) -> None:
    cfg = write(tmp_path / "gatewatch.yaml", 1883)
    good = load_config(cfg)

    def rules_refuse(old: Config, new: Config) -> None:
        raise ConfigError([Problem(Location("rules/lifts.yaml", 3, 7), "unknown metric")])

    def crashes(old: Config, new: Config) -> None:
        raise KeyError("bug")

    refusing = ConfigReloader(cfg, good, subscribers=[rules_refuse])
    assert not refusing.reload()
    assert refusing.stats.last_error == "rules/lifts.yaml:3:7: unknown metric"
    crashing = ConfigReloader(cfg, good, subscribers=[crashes])
    assert not crashing.reload()
    assert "KeyError('bug')" in crashing.stats.last_error
    assert refusing.current is good and crashing.current is good
    assert (refusing.stats.failures, crashing.stats.failures) == (1, 1)


@pytest.mark.slow
def test_sighup_with_a_broken_config_is_counted_and_the_daemon_keeps_running(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    gw = Gateway(tmp_path, mosquitto.port).start()
    try:
        gw.wait_http()
        wait_for(lambda: gw.healthz()[0] == 200, 20, "/healthz 200")
        good = gw.config.read_text()
        gw.config.write_text(good + "http_typo: {port: 1}\n")
        gw.signal(signal.SIGHUP)
        failures = 'gatewatch_config_reloads_total{result="failure"}'
        wait_for(lambda: gw.metrics()[failures] == 1, 10, "a counted reload failure")
        # the counter moves before the log line is written: wait for the line too
        wait_for(lambda: gw.logged("config_reload_failed"), 10, "the failure logged")
        failed = next(e for e in gw.events() if e["event"] == "config_reload_failed")
        assert failed["problems"][0].startswith(f"{gw.config}:7:1: unknown key 'http_typo'")
        assert gw.healthz()[0] == 200

        gw.config.write_text(good)
        gw.signal(signal.SIGHUP)
        successes = 'gatewatch_config_reloads_total{result="success"}'
        wait_for(lambda: gw.metrics()[successes] == 1, 10, "a counted reload success")
        assert gw.metrics()[failures] == 1
    finally:
        assert gw.stop() == 0
