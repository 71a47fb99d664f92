"""YAML with source locations, and a checked reader that collects every error.

Config files are written by people; an error must say where it is
(``file:line:column``) and how to fix it, and all errors of a file are reported
at once. This module is pure: it parses text, the caller reads the file.

Every YAML the daemon reads comes through :func:`parse_yaml`, which is bounded
(:class:`YamlLimits`): the text's size, the values it holds once aliases are
expanded, the aliases it uses and how deep it nests. A hostile file (a
"billion laughs" of aliases, ten thousand nested brackets, 100 MB) is refused
with the file, the place and the limit, after work proportional to the limit,
not to what the file would expand to. The caller reading a file should stop
at ``max_bytes`` too (``daemon/config/files.py`` does).
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


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """What one YAML file may hold. The defaults fit 10k rules or 10k assets a file."""

    max_bytes: int = 8 * 1024 * 1024
    max_values: int = 500_000  # scalars, lists and mappings, aliases expanded
    max_aliases: int = 10_000  # uses of *name in the text
    max_depth: int = 64  # lists and mappings inside each other (aliases expanded)


LIMITS = YamlLimits()


def _loc(file: str, node: yaml.Node | yaml.Event) -> Location:
    mark = node.start_mark
    return Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)


def _refuse(loc: Location, message: str) -> ConfigError:
    return ConfigError([Problem(loc, message)])


def too_large(file: str, size: int, limits: YamlLimits = LIMITS) -> ConfigError:
    """The error for a file over ``max_bytes`` (also raised by readers that stop early)."""
    return _refuse(
        Location(file, 1, 1),
        f"file too large: {size:,} bytes or more, the limit is {limits.max_bytes:,}"
        " (YAML max_bytes); is this the right file? Split a big one into several",
    )


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts while composing: values, aliases, depth."""

    def __init__(self, text: str, file: str, limits: YamlLimits) -> None:
        super().__init__(text)
        self.file, self.limits = file, limits
        self.values = self.aliases = self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        lim, event = self.limits, self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > lim.max_aliases:
                raise _too_many_aliases(_loc(self.file, event), lim)
        else:
            self.values += 1
            if self.values > lim.max_values:
                raise _over_values(_loc(self.file, event), lim)
        step = 1 if isinstance(event, yaml.CollectionStartEvent) else 0
        self.depth += step
        try:
            if self.depth > lim.max_depth:
                raise _too_deep(_loc(self.file, event), lim)
            return super().compose_node(parent, index)
        finally:
            self.depth -= step


def _too_many_aliases(loc: Location, lim: YamlLimits) -> ConfigError:
    return _refuse(
        loc, f"more than {lim.max_aliases:,} aliases (*name; YAML max_aliases): write them out"
    )


def _over_values(loc: Location, lim: YamlLimits) -> ConfigError:
    return _refuse(
        loc,
        f"more than {lim.max_values:,} values once aliases are expanded (YAML max_values):"
        " a YAML bomb, or a file to split",
    )


def _too_deep(loc: Location, lim: YamlLimits) -> ConfigError:
    return _refuse(
        loc, f"nested deeper than {lim.max_depth} levels (YAML max_depth), aliases expanded"
    )


def _prescan(text: str, file: str, lim: YamlLimits) -> None:
    """Count values, aliases and depth over libyaml's events (about 1 us each, constant
    memory) before the pure-Python composer builds anything: a file of millions of tiny
    values is refused in well under a second. Without libyaml, or on a syntax error,
    the composer's own counts (``_BoundedLoader``) decide and report."""
    if not yaml.__with_libyaml__:
        return
    values = aliases = depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > lim.max_aliases:
                    break
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            values += 1
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
            if values > lim.max_values or depth > lim.max_depth:
                break
        else:
            return
    except yaml.YAMLError:
        return
    loc = _loc(file, event)
    if aliases > lim.max_aliases:
        raise _too_many_aliases(loc, lim)
    raise _over_values(loc, lim) if values > lim.max_values else _too_deep(loc, lim)


def _check_expansion(root: yaml.Node, file: str, lim: YamlLimits) -> None:
    """Refuse a document whose aliases expand past the limits, without expanding them:
    (values, height) per distinct node, memoized, so a billion laughs costs its text.
    Merge keys (``<<``) only repeat what this counts, so they are bounded too."""
    known: dict[int, tuple[int, int]] = {}  # node -> (values, levels of collections)
    open_: set[int] = set()

    def walk(node: yaml.Node, outer: int) -> tuple[int, int]:
        """``outer``: the collections around ``node``."""
        seen = known.get(id(node))
        if seen is not None:
            if outer + seen[1] > lim.max_depth:
                raise _too_deep(_loc(file, node), lim)
            return seen
        if id(node) in open_:
            raise _refuse(
                _loc(file, node),
                "an alias refers to the list or mapping that holds it (recursive YAML):"
                " write the value out",
            )
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            known[id(node)] = (1, 0)
            return 1, 0
        if outer + 1 > lim.max_depth:
            raise _too_deep(_loc(file, node), lim)
        open_.add(id(node))
        values, height = 1, 1
        for child in children:
            v, h = walk(child, outer + 1)
            values, height = values + v, max(height, h + 1)
            if values > lim.max_values:
                raise _over_values(_loc(file, child), lim)
        open_.discard(id(node))
        known[id(node)] = (values, height)
        return values, height

    walk(root, 0)


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


def parse_yaml(text: str, file: str, limits: YamlLimits = LIMITS) -> Any:
    """Parse one YAML document; mappings become LocDict, sequences LocList.

    Raises ConfigError with the file:line:column of a syntax error, or of the
    place where the document goes over one of ``limits``.
    """
    if len(text) > limits.max_bytes:
        raise too_large(file, len(text), limits)
    _prescan(text, file, limits)
    try:
        loader = _BoundedLoader(text, file, limits)
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
        _check_expansion(node, file, limits)
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
