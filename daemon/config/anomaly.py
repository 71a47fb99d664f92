"""The ``anomaly:`` section of gatewatch.yaml -> typed settings (file:line:col errors).

    anomaly:
      model: covariance              # multivariate anomaly_score model: covariance | similarity
      default_class: II              # ISO 10816 machine class of assets not listed
      machines: {pump-1: II, fan-3: I}
      iso10816:                      # overrides, mm/s RMS: [A/B, B/C, C/D]
        II: [1.12, 2.8, 7.1]
      forecast:
        min_days: 14                 # cold start: days of history before any forecast
        window_days: 28
        min_slope_pct_per_day: 0.3
        confidence: 0.9
        horizon_days: 30             # predictive rule: zone C forecast within this

Wire it with one line in ``parse_config``:
``anomaly = parse_anomaly(root.section("anomaly"))``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gatewatch.anomaly.scorer import DEFAULT_MODEL, MODELS
from gatewatch.anomaly.wear.degradation import DegradationConfig
from gatewatch.anomaly.wear.zones import ISO10816_DEFAULTS, ZoneLimits
from gatewatch.core.yamlsource import LocList, Section


@dataclass(frozen=True, slots=True)
class AnomalySettings:
    default_class: str = "II"
    machines: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    zones: Mapping[str, ZoneLimits] = field(default_factory=lambda: ISO10816_DEFAULTS)
    min_days: int = 14
    window_days: int = 28
    min_slope_per_day: float = 0.003
    confidence: float = 0.9
    horizon_days: float = 30.0
    model: str = DEFAULT_MODEL  # a key of gatewatch.anomaly.scorer.MODELS

    def degradation(self, asset: str) -> DegradationConfig:
        """The forecast configuration of one asset (its class's zone limits)."""
        limits = self.zones[self.machines.get(asset, self.default_class)]
        return DegradationConfig(
            limits,
            min_days=self.min_days,
            window_days=self.window_days,
            confidence=self.confidence,
            min_slope_per_day=self.min_slope_per_day,
        )


def parse_anomaly(s: Section) -> AnomalySettings:
    zones = dict(ISO10816_DEFAULTS) | _zones(s.section("iso10816"))
    classes = tuple(sorted(zones))
    default = s.text("default_class", "II", choices=classes)
    model = s.text("model", DEFAULT_MODEL, choices=tuple(MODELS))
    machines = _machines(s.section("machines"), classes)
    f = s.section("forecast")
    min_days = f.integer("min_days", 14, min=10)  # the short trend alone uses 10 days
    window = f.integer("window_days", 28, min=10)
    if min_days is not None and window is not None and window < min_days:
        f.error("window_days", "anomaly.forecast.window_days must be >= min_days")
        window = min_days
    out = AnomalySettings(
        default_class=default or "II",
        machines=MappingProxyType(machines),
        zones=MappingProxyType(zones),
        min_days=min_days or 14,
        window_days=window or 28,
        min_slope_per_day=(f.number("min_slope_pct_per_day", 0.3, min=0) or 0.3) / 100,
        confidence=_confidence(f),
        horizon_days=f.number("horizon_days", 30, min=1) or 30.0,
        model=model if isinstance(model, str) else DEFAULT_MODEL,
    )
    f.check_unknown()
    s.check_unknown()
    return out


def _confidence(f: Section) -> float:
    value = f.number("confidence", 0.9)
    if value is not None and not 0 < value < 1:
        f.error("confidence", "anomaly.forecast.confidence must be between 0 and 1, e.g. 0.9")
        return 0.9
    return float(value) if value is not None else 0.9


def _zones(s: Section) -> dict[str, ZoneLimits]:
    out = {}
    for cls, edges in s.items():
        s.raw(cls)
        ok = isinstance(edges, LocList) and len(edges) == 3
        ok = ok and all(isinstance(e, int | float) and not isinstance(e, bool) for e in edges)
        if not ok:
            s.error(
                cls,
                f"anomaly.iso10816.{cls} must be [A/B, B/C, C/D] in mm/s, e.g. [1.12, 2.8, 7.1]",
            )
            continue
        try:
            out[str(cls)] = ZoneLimits(*(float(e) for e in edges))
        except ValueError as exc:
            s.error(cls, f"anomaly.iso10816.{cls}: {exc}")
    return out


def _machines(s: Section, classes: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for asset, _ in s.items():
        cls = s.text(asset, choices=classes)
        if isinstance(cls, str):
            out[asset] = cls
    return out
