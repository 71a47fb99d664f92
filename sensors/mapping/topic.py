"""Topic patterns of mappings: ``zigbee2mqtt/{asset}``, ``{asset}/status/{metric}``,
``homeassistant/+/{asset}/state``, ``tele/{asset}/#``.

A segment is literal text, a ``{field}`` (``site``, ``asset`` or ``metric``),
``+`` (any one segment, not kept) or, last, ``#`` (any rest). The subscription
replaces each field by ``+``.

Which mapping wins when several match a topic: the most specific, that is the
one with the most literal segments, then the one without ``#``, then the one
declared first (files in the order configured, mappings in file order).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

FIELDS = ("site", "asset", "metric")
_FIELD = re.compile(r"^\{([^{}]*)\}$")


class MappingTopicError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class MappingTopic:
    pattern: str
    segments: tuple[str, ...]  # literal text, "+", "#" or "{field}"

    @classmethod
    def parse(cls, pattern: str) -> MappingTopic:
        if not pattern or pattern.startswith("/"):
            raise MappingTopicError(f"topic pattern {pattern!r} must not be empty or start with /")
        segments = pattern.split("/")
        seen: set[str] = set()
        for i, seg in enumerate(segments):
            if seg == "#" and i != len(segments) - 1:
                raise MappingTopicError(f"'#' must be the last segment of {pattern!r}")
            m = _FIELD.match(seg)
            if m:
                name = m.group(1)
                if name not in FIELDS:
                    hint = difflib.get_close_matches(name, FIELDS, n=1)
                    fix = f"; did you mean {{{hint[0]}}}?" if hint else ""
                    raise MappingTopicError(
                        f"unknown field {{{name}}} in topic pattern {pattern!r} (known: "
                        f"{{site}}, {{asset}}, {{metric}}; '+' skips a segment){fix}"
                    )
                if name in seen:
                    raise MappingTopicError(f"field {{{name}}} appears twice in {pattern!r}")
                seen.add(name)
            elif seg not in ("+", "#") and any(c in seg for c in "{}+#"):
                raise MappingTopicError(
                    f"segment {seg!r} of {pattern!r}: a {{field}}, '+' or '#' must be a whole "
                    "segment"
                )
        if "asset" not in seen:
            raise MappingTopicError(f"topic pattern {pattern!r} needs an {{asset}} segment")
        return cls(pattern, tuple(segments))

    @property
    def subscription(self) -> str:
        return "/".join("+" if s.startswith("{") else s for s in self.segments)

    @property
    def specificity(self) -> tuple[int, int]:
        """Higher wins: literal segments, then 1 for a pattern without '#'."""
        literals = sum(1 for s in self.segments if s not in ("+", "#") and not s.startswith("{"))
        return literals, int(self.segments[-1] != "#")

    def match(self, topic: str) -> dict[str, str] | None:
        parts = topic.split("/")
        segs = self.segments
        if segs[-1] == "#":
            if len(parts) < len(segs) - 1:
                return None
            segs = segs[:-1]
            parts = parts[: len(segs)]
        elif len(parts) != len(segs):
            return None
        values: dict[str, str] = {}
        for part, seg in zip(parts, segs, strict=True):
            if seg.startswith("{"):
                if not part:
                    return None
                values[seg[1:-1]] = part
            elif seg not in ("+", part):
                return None
        return values


def covers(wide: str, narrow: str) -> bool:
    """Whether every topic the MQTT filter ``narrow`` matches also matches ``wide``."""
    a, b = wide.split("/"), narrow.split("/")
    for i, seg in enumerate(a):
        if seg == "#":
            return True
        if i >= len(b) or b[i] == "#" or (seg != "+" and seg != b[i]):
            return False
    return len(a) == len(b)


def minimal_subscriptions(filters: list[str]) -> list[str]:
    """The filters without repeats and without those another one covers: a broker sends
    a message once per matching subscription, and each copy would be stored."""
    unique = list(dict.fromkeys(filters))
    return [f for f in unique if not any(g != f and covers(g, f) for g in unique)]
