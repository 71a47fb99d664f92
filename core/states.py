"""State names of state-valued metrics: a lift door's 0/1/2 is closed/open/stuck.

A reading's value stays a number; these names let a rule say ``value == "stuck"``
(resolved to the number when the rule is loaded) and a ticket say ``stuck``.
The payload mappings declare them (``values`` / ``names`` of a field); the
daemon's config puts them on the asset registry. Pure values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class StateNames:
    """One metric's states: number -> name."""

    names: Mapping[float, str]

    def number(self, name: str) -> float | None:
        """The number a name stands for: exact, else ignoring case; None if unknown."""
        for number, known in self.names.items():
            if known == name:
                return number
        folded = name.casefold()
        for number, known in self.names.items():
            if known.casefold() == folded:
                return number
        return None

    def name(self, value: float) -> str | None:
        return self.names.get(value)

    @property
    def known(self) -> tuple[str, ...]:
        return tuple(self.names.values())


@dataclass(frozen=True, slots=True)
class StateTable:
    """Metric (a name, or an fnmatch pattern such as ``*.output``) -> its states. An exact
    name wins, then the pattern with the most literal text (``*.output`` before ``*``),
    then the first entry."""

    entries: tuple[tuple[str, StateNames], ...] = ()

    def for_metric(self, metric: str) -> StateNames | None:
        for pattern, names in self.entries:
            if pattern == metric:
                return names
        matching = [(p, n) for p, n in self.entries if fnmatchcase(metric, p)]
        if not matching:
            return None
        return max(matching, key=lambda entry: len(entry[0].replace("*", "")))[1]

    @classmethod
    def of(cls, entries: list[tuple[str, dict[float, str]]]) -> StateTable:
        return cls(tuple((p, StateNames(MappingProxyType(dict(n)))) for p, n in entries if n))
