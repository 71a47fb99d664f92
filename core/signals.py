"""What anomaly/ hands to the rule engine: derived signals with evidence.

A derived signal is an ordinary series of one asset (``anomaly_score``,
``days_to_zone_c``, ...) so it goes through the same pending/firing machine
as a threshold (``for``, hysteresis, silences); its evidence (trend per day,
current zone, forecast date and band, top features) is available to the
ticket templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# Names of the derived metrics anomaly/ emits; rules select them like any metric.
ANOMALY_SCORE = "anomaly_score"  # 0 = normal, >= 1 = beyond the model's threshold
DAYS_TO_ZONE_C = "days_to_zone_c"  # forecast days until ISO 10816 zone C (inf = never)
DAYS_TO_ZONE_D = "days_to_zone_d"


@dataclass(frozen=True, slots=True)
class DerivedSignal:
    site: str
    asset: str
    metric: str  # one of the names above, optionally "<source metric>:<name>"
    ts: float
    value: float
    evidence: Mapping[str, str | float] = field(default_factory=lambda: MappingProxyType({}))
