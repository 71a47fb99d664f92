"""The value that flows through gatewatch: one number of one series at one time."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SeriesKey:
    site: str
    asset: str
    metric: str

    def __str__(self) -> str:
        return f"{self.site}/{self.asset}/{self.metric}"


@dataclass(frozen=True, slots=True)
class Reading:
    """One decoded measurement. ``ts`` is epoch seconds (UTC).

    ``received``: the payload carried no time, ``ts`` is when gatewatch received it.
    ``backlog``: a ``received`` reading delivered in the backlog of a resumed session, so
    its ``ts`` is delivery time, not measurement time. Neither takes part in equality."""

    site: str
    asset: str
    metric: str
    ts: float
    value: float
    unit: str | None = None
    received: bool = field(default=False, compare=False)
    backlog: bool = field(default=False, compare=False)

    @property
    def key(self) -> SeriesKey:
        return SeriesKey(self.site, self.asset, self.metric)
