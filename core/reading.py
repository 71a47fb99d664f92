"""The value that flows through gatewatch: one number of one series at one time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SeriesKey:
    site: str
    asset: str
    metric: str

    def __str__(self) -> str:
        return f"{self.site}/{self.asset}/{self.metric}"


@dataclass(frozen=True, slots=True)
class Reading:
    """One decoded measurement. ``ts`` is epoch seconds (UTC)."""

    site: str
    asset: str
    metric: str
    ts: float
    value: float
    unit: str | None = None

    @property
    def key(self) -> SeriesKey:
        return SeriesKey(self.site, self.asset, self.metric)
