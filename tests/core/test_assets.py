from __future__ import annotations

from pathlib import Path

import pytest
from gatewatch.core.assets import parse_assets
from gatewatch.core.yamlsource import ConfigError
from gatewatch.daemon.config.assets import load_assets

SHIPPED = Path(__file__).parents[2] / "config" / "assets.yaml"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_assets(text, "assets.yaml")
    return [str(p) for p in exc.value.problems]


def test_shipped_assets_file_is_valid_and_complete() -> None:
    reg = load_assets(SHIPPED)
    lift = reg.get("lift-a1")
    assert lift is not None and lift.asset_class == "lift"
    assert lift.responsible is not None and lift.responsible.kind == "contractor"
    assert lift.checklist_url.startswith("https://")
    assert str(lift.location) == "HQ, floor 0, room Lift shaft A"
    spec = lift.metric("door_close_time")
    assert spec is not None and spec.unit == "s" and spec.in_range(3) and not spec.in_range(121)


def test_every_error_is_reported_with_file_line_column() -> None:
    text = """assets:
  lift-1:
    class: lfit
    location: {building: HQ, flor: 2}
    responsible: {kind: vendor, name: X}
    metrics:
      temp: {min: 10, max: 5}
  pump-1:
    clas: pump
"""
    got = problems(text)
    assert "assets.yaml:3:12: unknown asset class 'lfit'" in got[0]
    assert any(p.startswith("assets.yaml:4:30: unknown key") and "'floor'" in p for p in got)
    assert any(p.startswith("assets.yaml:5:25:") and "one of own, contractor" in p for p in got)
    assert any(p.startswith("assets.yaml:7:19:") and "min (10) is above max (5)" in p for p in got)
    assert any(
        p.startswith("assets.yaml:9:5:") and "missing required key 'pump-1.class'" in p for p in got
    )
    assert any(p.startswith("assets.yaml:9:5: unknown key") and "'class'" in p for p in got)


def test_yaml_syntax_error_has_a_location() -> None:
    [msg] = problems("assets:\n  a: [1, 2\n")
    assert msg.startswith("assets.yaml:3:1: YAML syntax error")


def test_duplicate_asset_ids_are_refused() -> None:
    [msg] = problems("assets:\n  a: {class: pump}\n  a: {class: lift}\n")
    assert msg.startswith("assets.yaml:3:3: duplicate key 'a'")


def test_missing_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="assets file not found"):
        load_assets(tmp_path / "nope.yaml")
