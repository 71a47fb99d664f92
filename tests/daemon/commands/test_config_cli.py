"""Config errors: file:line messages and exit code 1, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gatewatch.core.yamlsource import ConfigError
from gatewatch.daemon.config.load import load_config

CONFIG_DIR = Path(__file__).parents[3] / "config"


def gatewatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatewatch.daemon.commands.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_shipped_config_is_valid() -> None:
    cfg = load_config(CONFIG_DIR / "gatewatch.yaml")
    assert cfg.mqtt.client_id == "gatewatch-hq" and cfg.mqtt.clean_start is False
    subscriptions = [topic for topic, _qos in cfg.mqtt.subscriptions]
    assert subscriptions[0] == "building/+/+/+"  # then the presets' (config/mappings/)
    assert "zigbee2mqtt/+" in subscriptions and len(cfg.mappings.mappings) == 14
    assert len(cfg.assets) == 6


@pytest.mark.parametrize("command", ["run", "config check"])
def test_missing_assets_file_exits_1_with_location(tmp_path: Path, command: str) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("site: hq\nstate_dir: state\nassets: missing.yaml\n")
    res = gatewatch(*command.split(), "--config", str(cfg))
    assert res.returncode == 1
    assert f"{tmp_path}/missing.yaml:1:1: assets file not found" in res.stderr
    assert "Traceback" not in res.stderr


def test_malformed_assets_file_exits_1_with_line(tmp_path: Path) -> None:
    (tmp_path / "assets.yaml").write_text("assets:\n  lift-1:\n    class: lift\n    metrics: 12\n")
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("state_dir: state\nmqtt:\n  port: seven\n")
    res = gatewatch("run", "--config", str(cfg))
    assert res.returncode == 1, res.stderr
    assert f"{cfg}:3:9: mqtt.port must be a whole number, got str" in res.stderr
    assert f"{tmp_path}/assets.yaml:4:14: lift-1.metrics must be a mapping, got int" in res.stderr
    assert "Traceback" not in res.stderr


def test_config_check_json_lists_errors(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("mqtt:\n  password: hunter2\n")
    (tmp_path / "assets.yaml").write_text("assets: {}\n")
    res = gatewatch("config", "check", "--config", str(cfg), "--json")
    assert res.returncode == 1
    doc = json.loads(res.stdout)
    assert doc["valid"] is False
    [err] = doc["errors"]
    assert (err["line"], err["column"]) == (2, 13)
    assert "password_env" in err["message"]
    assert "hunter2" not in res.stdout + res.stderr


def test_secret_from_environment_is_read_and_not_in_repr(tmp_path: Path) -> None:
    (tmp_path / "assets.yaml").write_text("assets: {}\n")
    (tmp_path / "gw.yaml").write_text("mqtt:\n  username: gw\n  password_env: GW_PW\n")
    cfg = load_config(tmp_path / "gw.yaml", env={"GW_PW": "s3cret"})
    assert cfg.mqtt.password == b"s3cret"
    assert "s3cret" not in repr(cfg)
    with pytest.raises(ConfigError, match="environment variable GW_PW"):
        load_config(tmp_path / "gw.yaml", env={})


def test_usage_error_exits_2() -> None:
    assert gatewatch("run").returncode == 2


@pytest.mark.parametrize(
    ("section", "forward", "url"),
    [
        ("", None, None),
        ("influxdb: {url: 'http://127.0.0.1:8428'}\n", "influxdb", "http://127.0.0.1:8428"),
    ],
)
def test_config_check_json_names_the_forward_target(
    tmp_path: Path, section: str, forward: str | None, url: str | None
) -> None:
    (tmp_path / "assets.yaml").write_text("assets: {}\n")
    cfg = tmp_path / "gw.yaml"
    cfg.write_text("state_dir: state\n" + section)
    res = gatewatch("config", "check", "--config", str(cfg), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert (doc["forward"], doc["influxdb"]) == (forward, url)


def test_config_check_names_the_mappings() -> None:
    res = gatewatch("config", "check", "--config", str(CONFIG_DIR / "gatewatch.yaml"), "--json")
    assert res.returncode == 0, res.stderr
    names = json.loads(res.stdout)["mappings"]
    assert "zigbee2mqtt" in names and "tasmota-state" in names and len(names) == 14
    res = gatewatch("config", "check", "--config", str(CONFIG_DIR / "gatewatch.yaml"))
    assert "14 mappings" in res.stdout
