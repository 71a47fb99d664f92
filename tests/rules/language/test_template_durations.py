"""Sandboxed templates and durations."""

from __future__ import annotations

import pytest
from gatewatch.rules.language.durations import DurationError, format_duration, parse_duration
from gatewatch.rules.language.template import TemplateError, parse_template


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("{asset.__class__}", 0, "unknown template field"),
        ("x {value.real}", 2, "unknown template field"),
        ("x {vaule}", 2, "did you mean {value}?"),
        ("a { b", 2, "lone '{'"),
        ("a } b", 2, "lone '}'"),
        ("{0}", 0, "unknown template field"),
    ],
)
def test_template_errors(text: str, offset: int, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        parse_template(text)
    assert message in str(info.value)
    assert info.value.offset == offset


def test_template_rendering() -> None:
    t = parse_template("{{x}} {asset.name}: {value} {unit}, {evidence.zone}")
    values = {"asset.name": "Pump 1", "value": "7.1", "unit": "mm/s", "evidence.zone": "C"}
    assert t.render(values) == "{x} Pump 1: 7.1 mm/s, C"
    assert t.fields == ("asset.name", "value", "unit", "evidence.zone")


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h30m", 5400),
        ("7d", 604800),
        ("250ms", 0.25),
        (90, 90),
        ("1.5h", 5400),
    ],
)
def test_durations(raw: object, seconds: float) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["5 minutes", "", "m5", "5", "-5m", -1, True, None, [1]])
def test_bad_durations(raw: object) -> None:
    with pytest.raises(DurationError):
        parse_duration(raw)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 59.6, 3725, 90061)] == [
        "0s",
        "1m",
        "1h2m5s",
        "1d1h1m1s",
    ]
