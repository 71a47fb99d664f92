"""Durations as engineers write them: ``30s``, ``5m``, ``1h30m``, ``7d``, or plain seconds."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
HINT = "write a duration such as 30s, 5m, 1h30m or 7d"


class DurationError(ValueError):
    pass


def parse_duration(raw: object) -> float:
    """Seconds from a duration string or a non-negative number; raise DurationError."""
    if isinstance(raw, bool):
        raise DurationError(f"expected a duration, got {raw!r}; {HINT}")
    if isinstance(raw, int | float):
        if raw < 0:
            raise DurationError(f"duration must not be negative, got {raw}; {HINT}")
        return float(raw)
    if not isinstance(raw, str):
        raise DurationError(f"expected a duration, got {type(raw).__name__}; {HINT}")
    text = raw.strip().replace(" ", "")
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise DurationError(f"{raw!r} is not a duration; {HINT}")
    return total


def format_duration(seconds: float) -> str:
    """``3725`` -> ``1h2m5s``; used in tickets and reports."""
    seconds = round(seconds)
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
