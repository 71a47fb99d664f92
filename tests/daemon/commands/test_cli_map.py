"""``gatewatch map test``: readings, field fates and dead letters of sample messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gatewatch.daemon.commands.main import main

ROOT = Path(__file__).resolve().parents[3]
NOW = "1765000000"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["map", "test", *args, "--now", NOW])
    return code, capsys.readouterr().out


def test_a_good_message_prints_its_readings_and_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "tele/plug-1/STATE", '{"POWER": "OFF", "UptimeSec": 12, "Heap": 20}')
    assert code == 0
    assert "-> tasmota-state (" in out and "tasmota.yaml:" in out
    assert "reading hq/plug-1/power = 0 (OFF) at 2025-12-06T05:46:40.000+00:00" in out
    assert "reading hq/plug-1/uptime = 12 s" in out
    assert "field Heap: ignored" in out and "1/1 ok" in out


def test_a_bad_field_is_shown_with_its_reason_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = run(capsys, "tele/plug-1/STATE", '{"POWER": "BLINK", "UptimeSec": 12}', "--json")
    assert code == 1
    doc = json.loads(out)
    (msg,) = doc["messages"]
    assert doc["ok"] is False and msg["ok"] is False
    assert [r["metric"] for r in msg["readings"]] == ["uptime"]
    assert msg["dead_letters"][0]["reason"] == "unknown_state"
    assert {"path": "POWER", "fate": "rejected"}.items() <= msg["fields"][0].items()


def test_an_unknown_topic_is_a_rejection(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "nobody/listens/here", "1")
    assert code == 1 and "dead letter bad_topic" in out


def test_a_samples_file_checks_expected_readings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out = run(capsys, "--file", str(ROOT / "tests" / "sensors" / "samples" / "presets.yaml"))
    assert code == 0 and "18/18 ok" in out
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        "samples:\n"
        "  - {topic: zigbee2mqtt/d1, payload: '{\"contact\": true}', readings: {contact: 0}}\n"
        "  - {topic: zigbee2mqtt/d1, payload: 'x', rejections: [not_a_number]}\n"
    )
    code, out = run(capsys, "--file", str(wrong))
    assert code == 1 and "1/2 ok" in out
    assert "readings: expected {'contact': 0.0}, got {'contact': 1.0}" in out


def test_usage_and_config_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["map", "test", "only-a-topic"]) == 2
    bad = tmp_path / "samples.yaml"
    bad.write_text("samples:\n  - {topic: a/b, payload: 1, readngs: {}}\n")
    assert main(["map", "test", "--file", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "samples.yaml:2:" in err and "did you mean 'readings'?" in err
