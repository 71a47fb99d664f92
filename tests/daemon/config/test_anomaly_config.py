from __future__ import annotations

import pytest
from gatewatch.core.yamlsource import ConfigError, Problem, Section, parse_yaml
from gatewatch.daemon.config.anomaly import parse_anomaly


def parse(text: str) -> object:
    problems: list[Problem] = []
    root = Section.root(parse_yaml(text, "gw.yaml"), "gw.yaml", problems)
    settings = parse_anomaly(root.section("anomaly"))
    if problems:
        raise ConfigError(problems)
    return settings


def test_defaults_and_overrides() -> None:
    s = parse(
        "anomaly:\n"
        "  default_class: I\n"
        "  machines: {pump-1: III}\n"
        "  iso10816:\n"
        "    III: [2.0, 5.0, 12.0]\n"
        "  forecast: {horizon_days: 10, min_slope_pct_per_day: 0.5}\n"
    )
    pump = s.degradation("pump-1")  # type: ignore[attr-defined]
    assert (pump.limits.ab, pump.limits.bc, pump.limits.cd) == (2.0, 5.0, 12.0)
    assert pump.min_slope_per_day == pytest.approx(0.005)
    other = s.degradation("fan-9")  # type: ignore[attr-defined]
    assert other.limits.bc == 1.8  # class I default
    assert s.horizon_days == 10  # type: ignore[attr-defined]


def test_empty_section_gives_iso_defaults() -> None:
    s = parse("site: hq\nanomaly: {}\n")
    assert s.degradation("x").limits.bc == 2.8  # type: ignore[attr-defined]


def test_every_problem_is_reported_with_its_location() -> None:
    text = (
        "anomaly:\n"
        "  default_class: V\n"
        "  machines: {pump-1: IX}\n"
        "  iso10816:\n"
        "    II: [3.0, 2.0, 7.0]\n"
        "    IV: [1, 2]\n"
        "  forecast: {confidence: 1.5, min_dayz: 3}\n"
    )
    with pytest.raises(ConfigError) as exc:
        parse(text)
    msgs = [str(p) for p in exc.value.problems]
    assert any(m.startswith("gw.yaml:2:") and "default_class must be one of" in m for m in msgs)
    assert any(m.startswith("gw.yaml:3:") and "must be one of" in m for m in msgs)
    assert any(m.startswith("gw.yaml:5:") and "must increase" in m for m in msgs)
    assert any(m.startswith("gw.yaml:6:") and "[A/B, B/C, C/D]" in m for m in msgs)
    assert any("confidence must be between 0 and 1" in m for m in msgs)
    assert any(
        "unknown key 'anomaly.forecast.min_dayz'; did you mean 'min_days'?" in m for m in msgs
    )


def test_the_anomaly_score_model_is_chosen_by_name() -> None:
    assert parse("anomaly: {}\n").model == "covariance"  # type: ignore[attr-defined]
    assert parse("anomaly: {model: similarity}\n").model == "similarity"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as exc:
        parse("anomaly:\n  default_class: II\n  model: isolation\n")
    (problem,) = exc.value.problems
    assert str(problem).startswith("gw.yaml:3:10")
    assert "covariance" in str(problem) and "similarity" in str(problem)
