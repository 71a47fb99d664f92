"""What an event says about where and what: the values its templates see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gatewatch.core.assets import Asset


@dataclass(frozen=True, slots=True)
class Context:
    """Everything an event says about where and what (no Python objects reach templates)."""

    site: str
    asset: Asset | None
    asset_id: str = ""
    metric: str | None = None
    value: float | None = None
    unit: str | None = None
    threshold: float | None = None
    trend_per_min: float | None = None
    group: str = ""
    count: int = 0
    related: tuple[str, ...] = ()
    evidence: Mapping[str, str | float] = field(default_factory=lambda: MappingProxyType({}))
