"""One field's JSON value -> a number, and a timestamp field -> epoch seconds.

Both raise RejectError with a reason of decode.REASONS and a detail that says
how to fix the mapping.
"""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime
from typing import Any

from gatewatch.sensors.mapping.model import FieldMap, TimeSpec
from gatewatch.sensors.payloads.base import RejectError, number, timestamp

_EPOCH_DIVISORS = {"epoch_s": 1.0, "epoch_ms": 1e3, "epoch_us": 1e6}


def text_of(raw: Any) -> str:
    """A payload value as the text a value map is written in: true, ON, 3."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return raw if isinstance(raw, str) else str(raw)


def field_value(spec: FieldMap, raw: Any) -> float:
    return _number(spec, raw) * spec.scale + spec.offset


def _number(spec: FieldMap, raw: Any) -> float:
    if spec.values is not None and (isinstance(raw, str | bool | int) or type(raw) is float):
        mapped = _lookup(spec, text_of(raw))
        if mapped is not None:
            return mapped
        if isinstance(raw, str | bool):
            known = ", ".join(spec.values)
            raise RejectError(
                "unknown_state",
                f"value {text_of(raw)[:40]!r} is not one of {known}; add it to the field's values",
            )
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            raise RejectError(
                "not_a_number",
                f"text {raw[:40]!r} is not a number; map it with values: {{{raw[:20]!r}: 1, ...}}",
            ) from None
    what = {dict: "an object", list: "an array", type(None): "null"}.get(type(raw))
    if what is not None:
        raise RejectError("not_a_number", f"value is {what}; map a path inside it (e.g. a.b)")
    return number(raw)  # a number or a boolean


def _lookup(spec: FieldMap, text: str) -> float | None:
    values = spec.values
    assert values is not None
    if text in values:
        return values[text]
    folded = text.casefold()
    for key, mapped in values.items():
        if key.casefold() == folded:
            return mapped
    return None


def time_value(spec: TimeSpec, raw: Any, now: float) -> float:
    where = f"timestamp at {spec.source!r}"
    if spec.format == "auto":
        try:
            return timestamp(raw, now)
        except RejectError as exc:
            raise RejectError("bad_timestamp", f"{where}: {exc.detail}") from None
    if spec.format == "iso8601":
        return _iso(spec, raw, where)
    if isinstance(raw, str):
        with contextlib.suppress(ValueError):
            raw = float(raw)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise RejectError(
            "bad_timestamp", f"{where}: {spec.format} needs a number, got {raw!r:.40}"
        )
    ts = float(raw) / _EPOCH_DIVISORS[spec.format]
    if not math.isfinite(ts):
        raise RejectError("bad_timestamp", f"{where} is {ts}")
    return ts


def _iso(spec: TimeSpec, raw: Any, where: str) -> float:
    if not isinstance(raw, str):
        raise RejectError("bad_timestamp", f"{where}: iso8601 needs a string, got {raw!r:.40}")
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError:
        raise RejectError("bad_timestamp", f"{where}: {raw[:40]!r} is not ISO 8601") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=spec.zone or UTC)
    return dt.timestamp()
