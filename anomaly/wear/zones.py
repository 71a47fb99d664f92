"""ISO 10816 vibration severity zones per machine class.

Zone A: newly commissioned; B: unrestricted long-term operation; C: not
suitable for long-term operation, plan maintenance; D: severe enough to
cause damage. Boundaries are RMS velocity in mm/s (10-1000 Hz) and are
configurable per class; the defaults are the ISO 10816-1 table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

ZONES = ("A", "B", "C", "D")


@dataclass(frozen=True, slots=True)
class ZoneLimits:
    """Upper edges of zones A, B and C in mm/s RMS (``ab < bc < cd``)."""

    ab: float
    bc: float
    cd: float

    def __post_init__(self) -> None:
        values = (self.ab, self.bc, self.cd)
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"zone boundaries must be finite and > 0, got {values}")
        if not self.ab < self.bc < self.cd:
            raise ValueError(
                f"zone boundaries must increase (A/B < B/C < C/D), got {values}; fix their order"
            )

    def zone(self, rms: float) -> str:
        """Zone of an RMS velocity; a value on a boundary belongs to the upper zone."""
        if rms >= self.cd:
            return "D"
        if rms >= self.bc:
            return "C"
        return "B" if rms >= self.ab else "A"

    def lower_edge(self, zone: str) -> float:
        """RMS at which ``zone`` (B, C or D) starts."""
        edges = {"B": self.ab, "C": self.bc, "D": self.cd}
        if zone not in edges:
            raise ValueError(f"unknown zone {zone!r}; expected one of B, C, D")
        return edges[zone]


ISO10816_DEFAULTS: Mapping[str, ZoneLimits] = MappingProxyType(
    {
        "I": ZoneLimits(0.71, 1.8, 4.5),  # small machines up to 15 kW
        "II": ZoneLimits(1.12, 2.8, 7.1),  # medium machines 15-75 kW
        "III": ZoneLimits(1.8, 4.5, 11.2),  # large machines, rigid foundations
        "IV": ZoneLimits(2.8, 7.1, 18.0),  # large machines, soft foundations
    }
)


def limits_for(machine_class: str, overrides: Mapping[str, ZoneLimits] | None = None) -> ZoneLimits:
    """Zone limits of ``machine_class`` (I-IV), with configured overrides first."""
    table = {**ISO10816_DEFAULTS, **(overrides or {})}
    try:
        return table[machine_class]
    except KeyError:
        known = ", ".join(sorted(table))
        raise ValueError(
            f"unknown ISO 10816 machine class {machine_class!r}; use one of {known}"
        ) from None
