"""The asset registry: what each asset is, where it is, who looks after it.

Loaded once from ``assets.yaml`` and validated with every problem reported as
``file:line:column``. Later stages put the asset card on every ticket.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gatewatch.core.states import StateTable
from gatewatch.core.yamlsource import (
    ConfigError,
    LocDict,
    Problem,
    Section,
    parse_yaml,
)

KNOWN_CLASSES = (
    "lift",
    "escalator",
    "server_room",
    "pump",
    "ahu",
    "chiller",
    "boiler",
    "fire_panel",
    "lighting",
    "door",
    "meter",
    "sensor",
)
RESPONSIBLE_KINDS = ("own", "contractor")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    unit: str | None = None
    min: float = -math.inf
    max: float = math.inf

    def in_range(self, value: float) -> bool:
        return self.min <= value <= self.max


@dataclass(frozen=True, slots=True)
class AssetLocation:
    building: str = ""
    floor: str = ""
    room: str = ""

    def __str__(self) -> str:
        parts = [
            self.building,
            f"floor {self.floor}" if self.floor else "",
            f"room {self.room}" if self.room else "",
        ]
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class Responsible:
    kind: str  # "own" or "contractor"
    name: str
    contact: str = ""


@dataclass(frozen=True, slots=True)
class Asset:
    id: str
    asset_class: str
    name: str
    location: AssetLocation
    responsible: Responsible | None = None
    checklist_url: str = ""
    metrics: Mapping[str, MetricSpec] = field(default_factory=dict)

    def metric(self, name: str) -> MetricSpec | None:
        return self.metrics.get(name)


@dataclass(frozen=True, slots=True)
class AssetRegistry:
    assets: Mapping[str, Asset]
    source: str = "<empty>"
    states: StateTable = field(default_factory=StateTable)  # metrics' state names (mappings)

    def get(self, asset_id: str) -> Asset | None:
        return self.assets.get(asset_id)

    def __len__(self) -> int:
        return len(self.assets)

    @classmethod
    def empty(cls) -> AssetRegistry:
        return cls(MappingProxyType({}))


def parse_assets(text: str, file: str) -> AssetRegistry:
    problems: list[Problem] = []
    root = Section.root(parse_yaml(text, file), file, problems)
    extra = root.sequence("extra_classes", [])
    classes = set(KNOWN_CLASSES) | {str(c) for c in (extra or [])}
    assets_node = root.section("assets", required=True)
    root.check_unknown(("assets", "extra_classes"))
    assets: dict[str, Asset] = {}
    for asset_id, body in assets_node.items():
        where = assets_node.mapping.key_locs[asset_id]
        if not isinstance(body, LocDict):
            problems.append(Problem(where, f"asset {asset_id!r} must be a mapping"))
            continue
        asset = _parse_asset(asset_id, Section(body, problems, asset_id), classes)
        if asset is not None:
            assets[asset_id] = asset
    if problems:
        raise ConfigError(problems)
    return AssetRegistry(MappingProxyType(assets), file)


def _parse_asset(asset_id: str, s: Section, classes: set[str]) -> Asset | None:
    if "/" in asset_id or "+" in asset_id or "#" in asset_id or not asset_id:
        s.error(None, f"asset id {asset_id!r} must not be empty or contain '/', '+' or '#'")
    cls = s.text("class")
    if isinstance(cls, str) and cls not in classes:
        s.error(
            "class",
            f"unknown asset class {cls!r}; known: {', '.join(sorted(classes))} "
            "(add new ones under extra_classes)",
        )
    loc = s.section("location")
    location = AssetLocation(
        building=str(loc.raw("building", "")),
        floor=str(loc.raw("floor", "")),
        room=str(loc.raw("room", "")),
    )
    loc.check_unknown(("building", "floor", "room"))
    responsible = _parse_responsible(s) if s.has("responsible") else None
    metrics = _parse_metrics(s.section("metrics"))
    asset = Asset(
        id=asset_id,
        asset_class=cls or "",
        name=s.text("name", asset_id),
        location=location,
        responsible=responsible,
        checklist_url=s.text("checklist_url", ""),
        metrics=MappingProxyType(metrics),
    )
    s.check_unknown()
    return asset


def _parse_responsible(s: Section) -> Responsible:
    r = s.section("responsible")
    kind = r.text("kind", choices=RESPONSIBLE_KINDS)
    resp = Responsible(kind=kind or "own", name=r.text("name"), contact=r.text("contact", ""))
    r.check_unknown()
    return resp


def _parse_metrics(s: Section) -> dict[str, MetricSpec]:
    metrics: dict[str, MetricSpec] = {}
    for name, body in s.items():
        if not isinstance(body, LocDict):
            s.error(name, f"metric {name!r} must be a mapping with unit, min, max")
            continue
        m = Section(body, s.problems, f"{s.path}.{name}")
        lo, hi = m.number("min", -math.inf), m.number("max", math.inf)
        if lo is not None and hi is not None and lo > hi:
            m.error("min", f"min ({lo}) is above max ({hi})")
        unit = m.raw("unit")
        metrics[name] = MetricSpec(
            unit=None if unit is None else str(unit),
            min=float(lo if lo is not None else -math.inf),
            max=float(hi if hi is not None else math.inf),
        )
        m.check_unknown(("unit", "min", "max"))
    return metrics
