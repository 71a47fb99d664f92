"""mqtt: settings get the protocol's ranges (a value past them used to pass config
check, then kill the connect task with struct.error) and the protocol choice."""

from __future__ import annotations

from pathlib import Path

import pytest
from gatewatch.core.yamlsource import ConfigError
from gatewatch.daemon.config.load import parse_config


def mqtt(tmp_path: Path, body: str) -> object:
    (tmp_path / "assets.yaml").write_text("assets: {}\n")
    return parse_config(f"mqtt: {{{body}}}\n", "gw.yaml", base_dir=tmp_path, env={})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("keepalive: 65536", "mqtt.keepalive must be <= 65535"),
        ("receive_maximum: 70000", "mqtt.receive_maximum must be <= 65535"),
        ("session_expiry: 4294967296", "mqtt.session_expiry must be <= 4294967295"),
        ("port: 70000", "mqtt.port must be <= 65535"),
        ("max_packet_bytes: 300000000", "mqtt.max_packet_bytes must be <= 268435455"),
        ("protocol: 4", "mqtt.protocol must be 5, 3.1.1 or auto"),
        ("protocol: v5", "mqtt.protocol must be 5, 3.1.1 or auto"),
    ],
)
def test_out_of_range_mqtt_settings_are_config_errors(
    tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        mqtt(tmp_path, body)
    assert message in str(err.value)
    assert "gw.yaml:1:" in str(err.value)


@pytest.mark.parametrize(("value", "want"), [("5", "5"), ("3.1.1", "3.1.1"), ("auto", "auto")])
def test_protocol_choices(tmp_path: Path, value: str, want: str) -> None:
    cfg = mqtt(tmp_path, f"protocol: {value}")
    assert cfg.mqtt.protocol == want  # type: ignore[attr-defined]


def test_defaults_are_auto_and_a_per_machine_client_id(tmp_path: Path) -> None:
    cfg = mqtt(tmp_path, "port: 1883")
    s = cfg.mqtt  # type: ignore[attr-defined]
    assert s.protocol == "auto" and s.client_id.startswith("gw-") and len(s.client_id) <= 23
    assert s.max_packet_bytes == 1_048_576
    assert mqtt(tmp_path, "session_expiry: 4294967295").mqtt.session_expiry == 2**32 - 1  # type: ignore[attr-defined]
