"""Silences and maintenance windows: mute notifications, never the evaluation.

While an alert is muted its state machine runs as usual; its FIRED is held
back, and if it is still firing when the silence or window ends it is
ticketed at once (``Engine.tick``). Alerts ticketed before a silence began
still get their RESOLVED, so no ticket is left dangling.

silences.yaml (parsed here from text; the daemon reads the file):

    silences:
      - id: pump-1-overhaul
        match: {asset: pump-1}               # rule / asset / class / building / floor / site
        starts: 2026-11-25T08:00:00Z
        ends: 2026-11-25T17:00:00Z          # the expiry
        comment: bearing replacement, ticket 4711
    maintenance_windows:
      - id: lift-service
        match: {class: lift}
        every: [tue]                         # days of the week
        from: "06:00"
        to: "08:00"
        tz: Europe/Berlin
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gatewatch.core.assets import Asset
from gatewatch.core.yamlsource import ConfigError, LocDict, LocList, Problem, Section, parse_yaml

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MATCH_KEYS = ("rule", "asset", "class", "building", "floor", "room", "site")


@dataclass(frozen=True, slots=True)
class Match:
    """Every given field must match (an empty field matches anything)."""

    fields: Mapping[str, frozenset[str]]

    def matches(self, rule_id: str, site: str, asset_id: str, asset: Asset | None) -> bool:
        loc = asset.location if asset else None
        values = {
            "rule": rule_id,
            "site": site,
            "asset": asset_id,
            "class": asset.asset_class if asset else "",
            "building": loc.building if loc else "",
            "floor": loc.floor if loc else "",
            "room": loc.room if loc else "",
        }
        return all(values[k] in allowed for k, allowed in self.fields.items())


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    match: Match
    starts: float
    ends: float
    comment: str = ""

    def active(self, t: float) -> bool:
        return self.starts <= t < self.ends


@dataclass(frozen=True, slots=True)
class Window:
    """A recurring maintenance window in local time (DST-safe through zoneinfo)."""

    id: str
    match: Match
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time  # may be before start: the window runs past midnight
    tz: ZoneInfo
    comment: str = ""

    def active(self, t: float) -> bool:
        local = datetime.fromtimestamp(t, self.tz)
        clock = local.time()
        if self.start <= self.end:
            return local.weekday() in self.days and self.start <= clock < self.end
        if clock >= self.start:
            return local.weekday() in self.days
        return (local - timedelta(days=1)).weekday() in self.days and clock < self.end


Mute = Silence | Window


def parse_silences(text: str, file: str) -> tuple[Mute, ...]:
    """Parse silences.yaml; raise ConfigError listing every problem as file:line:col."""
    problems: list[Problem] = []
    root = Section.root(parse_yaml(text, file), file, problems)
    out: list[Mute] = []
    for key, parse in (("silences", _silence), ("maintenance_windows", _window)):
        items = root.sequence(key, LocList())
        for index, item in enumerate(items or []):
            if not isinstance(item, LocDict):
                problems.append(Problem(items.where(index), f"each entry of {key} is a mapping"))
                continue
            mute = parse(Section(item, problems, f"{key}[{index}]"))
            if mute is not None:
                out.append(mute)
    root.check_unknown(("silences", "maintenance_windows"))
    if problems:
        raise ConfigError(problems)
    return tuple(out)


def _match(s: Section) -> Match:
    m = s.section("match", required=True)
    fields: dict[str, frozenset[str]] = {}
    for key in MATCH_KEYS:
        raw = m.raw(key)
        if raw is not None:
            fields[key] = frozenset(str(v) for v in (raw if isinstance(raw, list) else [raw]))
    m.check_unknown(MATCH_KEYS)
    if not fields:
        m.error(None, "match: needs at least one of " + ", ".join(MATCH_KEYS))
    return Match(fields)


def _instant(s: Section, key: str) -> float | None:
    raw = s.raw(key)
    try:
        stamp = (
            raw
            if isinstance(raw, datetime)
            else datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        )
        if stamp.tzinfo is None:
            raise ValueError
        return stamp.timestamp()
    except ValueError:
        s.error(key, f"{s.path}.{key} must be a time with a zone, e.g. 2026-11-25T08:00:00Z")
        return None


def _silence(s: Section) -> Silence | None:
    sid, match = s.text("id"), _match(s)
    starts, ends = _instant(s, "starts"), _instant(s, "ends")
    comment = s.text("comment", "")
    s.check_unknown()
    if starts is not None and ends is not None and ends <= starts:
        s.error("ends", f"{s.path}.ends must be after starts")
        return None
    if sid is None or starts is None or ends is None:
        return None
    return Silence(sid, match, starts, ends, comment)


def _clock(s: Section, key: str) -> time | None:
    raw = s.text(key)
    try:
        return time.fromisoformat(str(raw))
    except ValueError:
        s.error(key, f"{s.path}.{key} must be a time of day such as 06:00")
        return None


def _window(s: Section) -> Window | None:
    sid, match = s.text("id"), _match(s)
    window = parse_schedule(s, sid or "", match)
    return window if sid is not None else None


def parse_schedule(s: Section, sid: str, match: Match | None = None) -> Window | None:
    """``every`` (days), ``from``, ``to`` (local times) and ``tz`` of a window or schedule."""
    days = s.sequence("every", LocList([*DAYS]))
    bad = [d for d in days or [] if d not in DAYS]
    for day in bad:
        hint = difflib.get_close_matches(str(day), DAYS, n=1)
        s.error("every", f"unknown day {day!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""))
    start, end = _clock(s, "from"), _clock(s, "to")
    zone = _zone(s)
    comment = s.text("comment", "")
    s.check_unknown()
    if start is not None and start == end:
        s.error("to", f"{s.path}: from and to are equal; the window would be empty")
        return None
    if start is None or end is None or zone is None or bad:
        return None
    day_set = frozenset(DAYS.index(d) for d in days or [])
    return Window(sid, match or Match({}), day_set, start, end, zone, comment)


def _zone(s: Section) -> ZoneInfo | None:
    name = s.text("tz", "UTC")
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        s.error("tz", f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin")
        return None
