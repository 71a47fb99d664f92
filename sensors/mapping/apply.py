"""Apply a mapping to one message: topic fields + payload -> raw readings and a fate
per field. Pure: no I/O, time given.

Each field decodes on its own: a message with 8 good fields and 1 bad one gives
8 raw readings and 1 ``rejected`` fate with its reason and path. Fates:

- ``mapped``: became a raw reading (the decoder still checks it against the
  asset registry);
- ``rejected``: could not become a number (reason and detail say why);
- ``ignored``: matched an ``ignore`` pattern;
- ``unmapped``: no field maps it (counted, never fatal; ``unmapped: numbers``
  takes numbers and booleans under their own path instead).

Only a payload that is not JSON where fields are expected, a bad timestamp (it
applies to every field), or a message of which nothing maps (``no_metric``: no
reading, no refused field, not everything ignored) refuses the whole message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import orjson
from gatewatch.sensors.mapping.convert import field_value, time_value
from gatewatch.sensors.mapping.model import FieldMap, Mapping
from gatewatch.sensors.mapping.path import MISSING, Path, lookup, path_text
from gatewatch.sensors.payloads.base import Raw, RejectError

FATES = ("mapped", "rejected", "ignored", "unmapped")
MAX_DEPTH = 64  # levels of nesting walked for unmapped fields; deeper ones are unmapped


@dataclass(frozen=True, slots=True)
class FieldFate:
    path: str
    fate: str  # one of FATES
    metric: str | None = None
    reason: str | None = None  # for "rejected": one of decode.REASONS
    detail: str = ""


@dataclass(slots=True)
class Applied:
    """What a mapping made of a message; ``error`` is set when the whole message is refused."""

    mapping: str
    site: str
    asset: str
    raws: list[Raw] = field(default_factory=list)
    fates: list[FieldFate] = field(default_factory=list)
    error: tuple[str, str] | None = None  # (reason, detail)


def apply_mapping(
    mapping: Mapping, fields: dict[str, str], payload: bytes, now: float, default_site: str
) -> Applied:
    out = Applied(mapping.name, fields.get("site", default_site), fields["asset"])
    try:
        _apply(mapping, fields.get("metric"), payload, now, out)
    except RejectError as exc:
        out.raws.clear()
        out.error = (exc.reason, exc.detail)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # never raised on
        out.raws.clear()
        out.error = ("undecodable", f"{type(exc).__name__}: {exc}"[:200])
    return out


def _apply(
    mapping: Mapping, topic_metric: str | None, payload: bytes, now: float, out: Applied
) -> None:
    doc = _document(payload)
    ts = now
    if mapping.timestamp is not None and isinstance(doc, dict | list):
        raw_ts = lookup(doc, mapping.timestamp.path)
        if raw_ts is not MISSING and raw_ts is not None:
            ts = time_value(mapping.timestamp, raw_ts, now)
    if mapping.value is not None and not isinstance(doc, dict | list):
        _field(mapping.value, doc, topic_metric, ts, out)
        return
    if not isinstance(doc, dict | list):
        raise RejectError(
            "not_a_number" if doc else "empty",
            f"mapping {mapping.name} ({mapping.origin}) expects a JSON object, got {doc[:40]!r}",
        )
    body = lookup(doc, mapping.root)
    if body is MISSING:
        out.fates.append(FieldFate(path_text(mapping.root), "unmapped", detail="root not found"))
    else:
        _fields(mapping, body, topic_metric, ts, out)
    _nothing_taken(mapping, out)


def _nothing_taken(mapping: Mapping, out: Applied) -> None:
    """A message that gives no reading and no field refusal is dead-lettered (so a mapping
    mistake loses nothing: it can be replayed), unless every field was ignored on purpose."""
    if out.raws or any(f.fate == "rejected" for f in out.fates):
        return
    if out.fates and all(f.fate == "ignored" for f in out.fates):
        return
    unmapped = ", ".join(f.path for f in out.fates if f.fate == "unmapped")[:120]
    what = f"no field maps to a metric (unmapped: {unmapped})" if unmapped else "no fields"
    raise RejectError("no_metric", f"{what}; map one in {mapping.name} ({mapping.origin})")


def _document(payload: bytes) -> Any:
    text = payload.strip()
    if text[:1] in (b"{", b"["):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            reason = "bad_utf8" if "UTF-8" in str(exc) else "bad_json"
            raise RejectError(reason, f"JSON: {exc}") from None
    if text[:1] == b'"':  # a JSON string (Home Assistant's statestream quotes "on")
        try:
            return str(orjson.loads(text))
        except orjson.JSONDecodeError:
            pass
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise RejectError("bad_utf8", "payload is not valid UTF-8") from None


def _fields(mapping: Mapping, body: Any, topic_metric: str | None, ts: float, out: Applied) -> None:
    taken: set[Path] = set()
    for spec in mapping.fields:
        raw = lookup(body, spec.path)
        if raw is not MISSING:
            taken.add(spec.path)
            _field(spec, raw, topic_metric, ts, out)
    tp = mapping.timestamp
    if tp is not None and tp.path[: len(mapping.root)] == mapping.root:
        taken.add(tp.path[len(mapping.root) :])
    prefix = f"{topic_metric}." if topic_metric else ""
    _Rest(mapping, taken, prefix, ts, out).walk(body, ())


def _field(spec: FieldMap, raw: Any, topic_metric: str | None, ts: float, out: Applied) -> None:
    metric, where = spec.metric_name(topic_metric), spec.source or "(payload)"
    try:
        value = field_value(spec, raw)
    except RejectError as exc:
        out.fates.append(FieldFate(where, "rejected", metric, exc.reason, exc.detail))
        return
    out.raws.append((metric, ts, value, spec.unit))
    out.fates.append(FieldFate(where, "mapped", metric))


@dataclass(frozen=True, slots=True)
class _Rest:
    """The walk over what no field took: ignored, unmapped, or (``numbers``) taken."""

    mapping: Mapping
    taken: set[Path]
    prefix: str  # "<topic metric>." or ""
    ts: float
    out: Applied

    def walk(self, node: Any, at: Path) -> None:
        if at in self.taken:
            return
        text = path_text(at)
        if at and any(fnmatchcase(text, pattern) for pattern in self.mapping.ignore):
            self.out.fates.append(FieldFate(text, "ignored"))
        elif len(at) > MAX_DEPTH:
            detail = f"nested deeper than {MAX_DEPTH} levels"
            self.out.fates.append(FieldFate(text[:200], "unmapped", detail=detail))
        elif type(node) is dict:
            for key, child in node.items():
                self.walk(child, (*at, key))
        elif type(node) is list:
            for i, child in enumerate(node):
                self.walk(child, (*at, str(i)))
        elif self.mapping.unmapped == "numbers" and isinstance(node, int | float) and at:
            metric = self.prefix + text
            self.out.raws.append((metric, self.ts, float(node), None))
            self.out.fates.append(FieldFate(text, "mapped", metric))
        else:
            detail = type(node).__name__
            self.out.fates.append(FieldFate(text or "(payload)", "unmapped", detail=detail))
