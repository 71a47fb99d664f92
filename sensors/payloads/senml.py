"""SenML JSON (RFC 8428): an array of records; name ``bn + n``, time ``bt + t`` (relative
to receive time below 2**28), ``v`` plus ``bv``, ``vb`` as 0/1, unit ``u`` or ``bu``."""

from __future__ import annotations

import math
from typing import Any

from gatewatch.sensors.payloads.base import Raw, RejectError, Shape, Topic, name_prefix, number

RELATIVE = 2**28


def _pack(records: list[Any], topic: Topic, now: float) -> list[Raw]:
    if not records:
        raise RejectError("bad_senml", "empty SenML pack")
    bn, bt, bu, bv = "", 0.0, None, 0.0
    prefix, out = name_prefix(topic), []
    for rec in records:
        if not isinstance(rec, dict):
            raise RejectError("bad_senml", "SenML records must be JSON objects")
        bn = str(rec.get("bn", bn))
        bt = _float(rec, "bt", bt)
        bu = rec.get("bu", bu)
        bv = _float(rec, "bv", bv)
        name = bn + str(rec.get("n", ""))
        if not name:
            raise RejectError("bad_senml", "SenML record without a name (n or bn)")
        if "v" in rec:
            value = bv + number(rec["v"])
        elif "vb" in rec:
            value = number(bool(rec["vb"]))
        elif "vs" in rec or "vd" in rec:
            raise RejectError("not_a_number", f"SenML record {name!r} has a string/data value")
        elif "n" not in rec:
            continue  # a record carrying only base fields
        else:
            raise RejectError("bad_senml", f"SenML record {name!r} has no value")
        t = bt + _float(rec, "t", 0.0)
        ts = now + t if t < RELATIVE else t
        unit = rec.get("u", bu)
        out.append((prefix + name, ts, value, None if unit is None else str(unit)))
    if not out:
        raise RejectError("bad_senml", "SenML pack has no values")
    return out


def _float(rec: dict[str, Any], key: str, default: float) -> float:
    if key not in rec:
        return default
    raw = rec[key]
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise RejectError("bad_senml", f"SenML {key} must be a number, got {raw!r:.40}")
    return float(raw)


SENML = Shape(
    "senml",
    example=b'[{"bt": 1732400000, "n": "rms", "v": 2.1, "u": "mm/s"}, {"n": "peak", "v": 6.3}]',
    takes=list,
    parse=_pack,
)
