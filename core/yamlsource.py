"""YAML with source locations, and a checked reader that collects every error.

Config files are written by people; an error must say where it is
(``file:line:column``) and how to fix it, and all errors of a file are reported
at once. This module is pure: it parses text, the caller reads the file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Problem:
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class ConfigError(Exception):
    """One or more problems in a configuration file; ``str()`` lists them all."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class LocDict(dict[str, Any]):
    """A mapping that remembers where it, its keys and its values are."""

    loc: Location
    key_locs: dict[str, Location]
    value_locs: dict[str, Location]

    def where(self, key: str) -> Location:
        return self.value_locs.get(key) or self.loc


class LocList(list[Any]):
    loc: Location
    item_locs: list[Location]

    def where(self, index: int) -> Location:
        return self.item_locs[index] if index < len(self.item_locs) else self.loc


def _loc(file: str, node: yaml.Node) -> Location:
    mark = node.start_mark
    return Location(file, mark.line + 1, mark.column + 1)


def _build(node: yaml.Node, file: str, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out = LocDict()
        out.loc, out.key_locs, out.value_locs = _loc(file, node), {}, {}
        for key_node, value_node in node.value:
            key = _build(key_node, file, loader)
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                raise ConfigError([Problem(_loc(file, key_node), f"duplicate key {key!r}")])
            out[key] = _build(value_node, file, loader)
            out.key_locs[key] = _loc(file, key_node)
            out.value_locs[key] = _loc(file, value_node)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = LocList(_build(child, file, loader) for child in node.value)
        items.loc, items.item_locs = _loc(file, node), [_loc(file, c) for c in node.value]
        return items
    return loader.construct_object(node, deep=True)


def parse_yaml(text: str, file: str) -> Any:
    """Parse one YAML document; mappings become LocDict, sequences LocList.

    Raises ConfigError with the file:line:column of a syntax error.
    """
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character: raised before parsing
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - text.rfind("\n", 0, exc.position)
        raise ConfigError(
            [Problem(Location(file, line, col), f"character #x{exc.character:04x} not allowed")]
        ) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _build(node, file, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ConfigError(
            [Problem(Location(file, line, col), f"YAML syntax error: {exc.problem}")]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(Location(file, 1, 1), f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()


_MISSING: Any = object()


class Section:
    """Typed, checked access to one mapping; problems are collected, not raised.

    Each getter returns a usable default on error so that checking can go on
    and report every problem of the file in one pass.
    """

    def __init__(self, mapping: LocDict, problems: list[Problem], path: str = "") -> None:
        self.mapping = mapping
        self.problems = problems
        self.path = path
        self._seen: set[str] = set()

    @classmethod
    def root(cls, doc: Any, file: str, problems: list[Problem]) -> Section:
        if not isinstance(doc, LocDict):
            loc = getattr(doc, "loc", Location(file, 1, 1))
            problems.append(Problem(loc, "expected a mapping (key: value lines) at the top"))
            empty = LocDict()
            empty.loc, empty.key_locs, empty.value_locs = loc, {}, {}
            doc = empty
        return cls(doc, problems)

    @property
    def loc(self) -> Location:
        return self.mapping.loc

    def error(self, key: str | None, message: str) -> None:
        loc = self.mapping.where(key) if key is not None else self.mapping.loc
        self.problems.append(Problem(loc, message))

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.mapping

    def raw(self, key: str, default: Any = None) -> Any:
        self._seen.add(key)
        return self.mapping.get(key, default)

    def _get(self, key: str, default: Any, types: tuple[type, ...], what: str) -> Any:
        self._seen.add(key)
        if key not in self.mapping:
            if default is _MISSING:
                self.error(None, f"missing required key {self._name(key)!r} ({what})")
                return None
            return default
        value = self.mapping[key]
        if isinstance(value, bool) and bool not in types:
            value = _MISSING
        if value is _MISSING or not isinstance(value, types):
            got = type(self.mapping[key]).__name__
            self.error(key, f"{self._name(key)} must be {what}, got {got}")
            return None if default is _MISSING else default
        return value

    def text(self, key: str, default: Any = _MISSING, *, choices: tuple[str, ...] = ()) -> Any:
        value = self._get(key, default, (str,), "a string")
        if choices and isinstance(value, str) and value not in choices:
            self.error(key, f"{self._name(key)} must be one of {', '.join(choices)}, got {value!r}")
            return default if default is not _MISSING else None
        return value

    def number(self, key: str, default: Any = _MISSING, *, min: float | None = None) -> Any:
        value = self._get(key, default, (int, float), "a number")
        if min is not None and isinstance(value, int | float) and value < min:
            self.error(key, f"{self._name(key)} must be >= {min}, got {value}")
            return default if default is not _MISSING else None
        return value

    def integer(
        self, key: str, default: Any = _MISSING, *, min: int | None = None, max: int | None = None
    ) -> Any:
        value = self._get(key, default, (int,), "a whole number")
        if min is not None and isinstance(value, int) and value < min:
            self.error(key, f"{self._name(key)} must be >= {min}, got {value}")
            return default if default is not _MISSING else None
        if max is not None and isinstance(value, int) and value > max:
            self.error(key, f"{self._name(key)} must be <= {max}, got {value}")
            return default if default is not _MISSING else None
        return value

    def flag(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, default, (bool,), "true or false")

    def section(self, key: str, *, required: bool = False) -> Section:
        value = self._get(key, _MISSING if required else None, (LocDict,), "a mapping")
        if value is None:
            value = LocDict()
            value.loc, value.key_locs, value.value_locs = self.mapping.where(key), {}, {}
        return Section(value, self.problems, self._name(key))

    def sequence(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, default, (LocList,), "a list")

    def items(self) -> Iterator[tuple[str, Any]]:
        return iter(self.mapping.items())

    def check_unknown(self, allowed: tuple[str, ...] | None = None) -> None:
        """Report keys nobody asked for: usually a typo."""
        known = set(allowed) if allowed is not None else self._seen
        for key in self.mapping:
            if key not in known:
                hint = difflib.get_close_matches(key, sorted(known), n=1)
                fix = f"; did you mean {hint[0]!r}?" if hint else ""
                self.problems.append(
                    Problem(self.mapping.key_locs[key], f"unknown key {self._name(key)!r}{fix}")
                )
