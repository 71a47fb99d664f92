from __future__ import annotations

import pytest
from gatewatch.sensors.mapping.path import MISSING, PathError, lookup, parse_path, path_text

DOC = {"ENERGY": {"Power": 12.5}, "sensors": [{"v": 1}, {"v": 2}], "a.b": 3}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("ENERGY.Power", 12.5),
        ("sensors.1.v", 2),
        ("sensors.#", 2),
        ("a\\.b", 3),
        ("", DOC),
        ("ENERGY.Voltage", MISSING),
        ("sensors.7.v", MISSING),
        ("sensors.x", MISSING),
        ("ENERGY.Power.deeper", MISSING),
    ],
)
def test_lookup_follows_keys_and_indexes(path: str, expected: object) -> None:
    assert lookup(DOC, parse_path(path)) is expected or lookup(DOC, parse_path(path)) == expected


@pytest.mark.parametrize("bad", ["a..b", ".a", "a.", "a.#.b"])
def test_bad_paths_are_refused_with_the_path_named(bad: str) -> None:
    with pytest.raises(PathError, match="path"):
        parse_path(bad)


def test_path_text_round_trips_escaped_dots() -> None:
    for text in ("a.b", "a\\.b.c", "switch:0.aenergy.total"):
        assert path_text(parse_path(text)) == text
