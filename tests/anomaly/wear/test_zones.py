from __future__ import annotations

import pytest
from gatewatch.anomaly.wear.zones import ISO10816_DEFAULTS, ZoneLimits, limits_for


@pytest.mark.parametrize(
    ("cls", "edges"),
    [
        ("I", (0.71, 1.8, 4.5)),
        ("II", (1.12, 2.8, 7.1)),
        ("III", (1.8, 4.5, 11.2)),
        ("IV", (2.8, 7.1, 18.0)),
    ],
)
def test_default_boundaries_are_the_iso_table(cls: str, edges: tuple[float, float, float]) -> None:
    lim = ISO10816_DEFAULTS[cls]
    assert (lim.ab, lim.bc, lim.cd) == edges


def test_zone_of_values_on_and_around_class_ii_boundaries() -> None:
    lim = limits_for("II")
    assert [lim.zone(v) for v in (0.5, 1.11, 1.12, 2.79, 2.8, 7.09, 7.1, 40)] == list("AABBCCDD")


def test_configured_override_replaces_default() -> None:
    lim = limits_for("II", {"II": ZoneLimits(1.0, 2.0, 3.0)})
    assert lim.zone(2.5) == "C"
    assert lim.lower_edge("D") == 3.0


def test_unknown_class_and_bad_boundaries_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="unknown ISO 10816 machine class 'V'"):
        limits_for("V")
    with pytest.raises(ValueError, match="must increase"):
        ZoneLimits(2.0, 1.0, 3.0)
    with pytest.raises(ValueError, match="finite"):
        ZoneLimits(float("nan"), 1.0, 3.0)
