"""daemon/config/mappings.py: mapping YAML -> MappingSet, errors with file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest
from gatewatch.core.yamlsource import ConfigError, Problem
from gatewatch.daemon.config.load import load_config
from gatewatch.daemon.config.mappings import load_mapping_files, parse_mappings

GOOD = """\
mappings:
  - name: lift
    topic: "site/{asset}/status"
    timestamp: {path: meta.ts, format: epoch_ms}
    ignore: [debug, "meta.*"]
    unmapped: numbers
    fields:
      door: {values: {closed: 0, open: 1, stuck: 2}}
      "power.w": {metric: power, unit: W, scale: 0.001}
      fault: {names: {0: none, 17: door_jam}}
      load:
"""


def parse(text: str) -> tuple[list, list[Problem]]:  # type: ignore[type-arg]
    problems: list[Problem] = []
    return parse_mappings(text, "maps.yaml", problems), problems


def test_a_good_file_gives_its_mappings() -> None:
    (m,), problems = parse(GOOD)
    assert problems == []
    assert m.name == "lift" and m.topic.pattern == "site/{asset}/status"
    assert m.origin == "maps.yaml:2"
    assert m.timestamp is not None and m.timestamp.path == ("meta", "ts")
    assert m.timestamp.format == "epoch_ms"
    assert m.ignore == ("debug", "meta.*") and m.unmapped == "numbers"
    door, power, fault, load = m.fields
    assert door.values == {"closed": 0.0, "open": 1.0, "stuck": 2.0}
    assert door.state_names() == {0.0: "closed", 1.0: "open", 2.0: "stuck"}
    assert (power.path, power.metric, power.unit, power.scale) == (
        ("power", "w"),
        "power",
        "W",
        0.001,
    )
    assert fault.state_names() == {0.0: "none", 17.0: "door_jam"}
    assert load.metric == "load" and load.values is None


def test_fields_under_a_metric_topic_are_named_after_it() -> None:
    (status, binary), problems = parse(
        'mappings:\n  - topic: "{asset}/status/{metric}"\n    fields: {apower: {}}\n'
        '  - topic: "{asset}/binary_sensor/{metric}/state"\n    value: {values: {"ON": 1}}\n'
    )
    assert problems == []
    assert status.fields[0].metric_name("switch:0") == "switch:0.apower"
    assert binary.value is not None and binary.value.metric_name("door") == "door"
    assert binary.value.path == ()


def test_every_problem_has_its_line_and_a_fix() -> None:
    text = """\
mappings:
  - name: typo
    topic: "building/{asset}/{metirc}"
    unmaped: numbers
    fields:
      state: {values: {ON: 1, "OFF": zero}}
      "a..b": {}
    timestamp: {path: t, format: epoch_ns, timezone: Mars/Olympus}
  - topic: "x/{asset}"
    value: {values: {"on": 1}}
"""
    _, problems = parse(text)
    lines = sorted((p.location.line, p.message) for p in problems)
    text_of = "\n".join(f"{line}: {msg}" for line, msg in lines)
    assert "3: unknown field {metirc}" in text_of and "did you mean {metric}?" in text_of
    assert "4: unknown key 'mappings[0].unmaped'; did you mean 'unmapped'?" in text_of
    assert "6: mappings[0].fields.state.values: YAML read a key as True" in text_of
    assert 'quote the text the device sends, e.g. "ON": 1' in text_of
    assert "6: mappings[0].fields.state.values.OFF must be a number" in text_of
    assert "7: path 'a..b' has an empty key" in text_of
    assert "8: mappings[0].timestamp.format must be one of auto, epoch_s" in text_of
    assert "8: unknown time zone 'Mars/Olympus'" in text_of
    assert "10: value needs a metric" in text_of


def test_files_and_folders_load_in_order_and_errors_name_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "a.yaml").write_text(GOOD)
    (folder / "b.yaml").write_text('mappings:\n  - topic: "z/{asset}"\n')
    maps = load_mapping_files([folder])
    assert [m.name for m in maps.mappings] == ["lift", "b[2]"]
    (folder / "c.yaml").write_text("mappings:\n  - topic: [oops\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:\d+:\d+: YAML syntax error"):
        load_mapping_files([folder])


def test_gatewatch_yaml_subscribes_to_the_mapping_topics(tmp_path: Path) -> None:
    (tmp_path / "maps.yaml").write_text(GOOD)
    (tmp_path / "assets.yaml").write_text("assets: {}\n")
    (tmp_path / "gatewatch.yaml").write_text(
        "mqtt: {topics: ['b/{site}/{asset}/{metric}']}\nmappings: {paths: [maps.yaml]}\n"
    )
    cfg = load_config(tmp_path / "gatewatch.yaml", env={})
    assert [m.name for m in cfg.mappings.mappings] == ["lift"]
    assert cfg.mqtt.subscriptions == (("b/+/+/+", 1), ("site/+/status", 1))
    (tmp_path / "gatewatch.yaml").write_text("mappings: {paths: [nothere.yaml]}\n")
    with pytest.raises(
        ConfigError, match=r"gatewatch\.yaml:1:\d+: mappings path .* does not exist"
    ):
        load_config(tmp_path / "gatewatch.yaml", env={})
