"""The safe expression language: semantics, errors with offsets, and no way out."""

from __future__ import annotations

import math

import pytest
from gatewatch.rules.language.expr import ExprError, compile_expression

NAMES = ("value", "prev")


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("value == 1", 1, True),
        ("value != 0", 0, False),
        ("bit(value, 3)", 8, True),
        ("bit(value, 3)", 7, False),
        ("bit(value, 2 + 1)", 8, True),
        ("bit(value, 70)", 8, False),
        ("value & 0x0c", 4, True),
        ("(value | 1) == 5", 4, True),
        ("value in [3, 7, -12]", -12, True),
        ("value not in [3, 7]", 3, False),
        ("not value > 2 and value >= 1", 1, True),
        ("value - prev > 5 or value * 2 >= 40 % 7", 3, True),
        ("abs(value) > 1 and min(value, 5) == value and max(1, 2) == 2", -3, True),
        ("abs(value) > 1 and min(value, 5) == value and max(1, 2) == 1", -3, False),
        ("value / 0 > 1", 1, False),  # nan, not an exception
        ("bit(value, 0)", math.nan, False),
        ("0b101 == value", 5, True),
        ("(-value < -2) == true", 3, True),
    ],
)
def test_semantics(text: str, value: float, expected: bool) -> None:
    assert compile_expression(text, NAMES)({"value": value, "prev": -2.0}) is expected


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("value >", 7, "expected a number"),
        ("valu == 1", 0, "did you mean 'value'?"),
        ("value == 1 )", 11, "unexpected ')'"),
        ("open('x')", 0, "unknown function 'open'"),
        ("value == 'x'", 9, "'x' is a state name, but the selected metric has none"),
        ("value == `x`", 9, "unexpected character '`'"),
        ("value.__class__", 5, "unexpected character '.'"),
        ("eval(1)", 0, "unknown function 'eval'"),
        ("bit(value)", 0, "takes 2 argument(s)"),
        ("value in [prev]", 10, "holds numbers"),
        ("", 0, "empty expression"),
        ("(" * 60 + "1" + ")" * 60, 51, "nested too deeply"),
        ("1 < value < 3", 10, "unexpected '<'"),  # no chained comparisons
    ],
)
def test_errors_say_where(text: str, offset: int, message: str) -> None:
    with pytest.raises(ExprError) as info:
        compile_expression(text, NAMES)
    assert message in str(info.value)
    assert info.value.offset == offset
