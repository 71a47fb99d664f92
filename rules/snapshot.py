"""The engine's state as a value: what ``Engine.snapshot`` exports and ``Engine.resume``
continues from after a restart or a reload (``persist`` turns it into JSON and back).

Everything in it is the engine's own data in its own units: times in seconds,
``-inf`` / ``nan`` for never / none; nothing in it refers to a live object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gatewatch.rules.machine import AlertState


@dataclass(frozen=True, slots=True)
class SeriesState:
    """The last values of one series and the history its rules still need."""

    site: str
    asset: str
    metric: str
    last_ts: float  # -inf: no reading yet
    value: float  # nan: none
    prev: float
    history: tuple[tuple[float, float], ...]  # (ts, value), oldest first
    evidence: Mapping[str, str | float] | None  # None: keep the series' own


@dataclass(frozen=True, slots=True)
class GroupState:
    """Where an alert instance of a rule on rules (repetition, composite, site) lives."""

    rule: str
    site: str
    asset: str
    group: str


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """A pending or firing alert: its rule, the rule's kind of condition, its timers.
    ``state`` is a copy the engine made for this value (and copies again to resume)."""

    rule: str
    kind: str
    state: AlertState


@dataclass(frozen=True, slots=True)
class EngineState:
    """What the engine needs to continue: nothing re-fires, nothing is forgotten."""

    origin: float | None  # the first tick (or reading): site silence counts from it
    sites: Mapping[str, float]  # site -> time of its last reading
    series: tuple[SeriesState, ...]
    alerts: Mapping[str, AlertRecord]  # incident key -> alert
    groups: Mapping[str, GroupState]  # incident key -> where
    repeats: Mapping[str, tuple[tuple[float, str], ...]]  # key -> (ts, incident key) log
    held: tuple[str, ...]  # keys whose FIRED a silence holds back
    composites: Mapping[str, Mapping[str, tuple[bool, float]]]  # key -> member -> (firing, at)
