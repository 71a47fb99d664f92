"""Sparkplug B messages -> raw readings per asset, or refusals with their reasons.

Topics are ``spBv1.0/<group>/<type>/<edge node>[/<device>]``; the asset is the
device, or the edge node for node messages. A BIRTH names each metric and may
give it an alias; DATA may then send only the alias, so the decoder keeps each
node's and device's alias table from its last BIRTH (an NBIRTH starts the node's
session afresh). A DEATH is the device (or the node and all its devices) going
offline: it gives the reading ``online`` = 0 at once, a BIRTH ``online`` = 1, so
a rule on ``online`` raises an incident without waiting for data to stop.
Metric names use ``.`` for Sparkplug's ``/`` folders (``Inputs/Temp`` ->
``Inputs.Temp``). Nothing here raises on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gatewatch.sensors.payloads.base import Raw
from gatewatch.sensors.sparkplug.schema import Payload
from google.protobuf.message import DecodeError

NAMESPACE = "spBv1.0"
NODE_TYPES = ("NBIRTH", "NDEATH", "NDATA")
DEVICE_TYPES = ("DBIRTH", "DDEATH", "DDATA")
SUBSCRIPTIONS = tuple(f"{NAMESPACE}/+/{t}/+" for t in NODE_TYPES) + tuple(
    f"{NAMESPACE}/+/{t}/+/+" for t in DEVICE_TYPES
)
ONLINE = "online"
_SIGNED_BITS = {1: 8, 2: 16, 3: 32, 4: 64}  # Int8..Int64: two's complement in uint32/64
_NUMERIC = {5, 6, 7, 8, 9, 10, 11, 13}  # UInt8..UInt64, Float, Double, Boolean, DateTime
_TYPE_NAMES = {12: "String", 14: "Text", 15: "UUID", 16: "DataSet", 17: "Bytes", 18: "File"}
_TYPE_NAMES[19] = "Template"

Key = tuple[str, str, str | None]  # group, edge node, device


@dataclass(frozen=True, slots=True)
class SparkplugTopic:
    group: str
    kind: str  # NBIRTH, DDATA, ...
    node: str
    device: str | None

    @property
    def key(self) -> Key:
        return self.group, self.node, self.device

    @property
    def asset(self) -> str:
        return self.device if self.device is not None else self.node

    @classmethod
    def parse(cls, topic: str) -> SparkplugTopic | str:
        """The topic's parts, or what is wrong with it."""
        parts = topic.split("/")
        if len(parts) not in (4, 5) or parts[0] != NAMESPACE or not all(parts):
            return f"not a Sparkplug B topic {NAMESPACE}/<group>/<type>/<node>[/<device>]"
        kind = parts[2]
        wanted = NODE_TYPES if len(parts) == 4 else DEVICE_TYPES
        if kind not in wanted:
            return f"Sparkplug message type {kind!r} is not one of {', '.join(wanted)} here"
        return cls(parts[1], kind, parts[3], parts[4] if len(parts) == 5 else None)


@dataclass(slots=True)
class Outcome:
    readings: list[tuple[str, Raw]] = field(default_factory=list)  # (asset, raw)
    rejections: list[tuple[str, str, str | None]] = field(default_factory=list)


class SparkplugDecoder:
    """Decodes one broker's Sparkplug B stream; holds the alias tables of the BIRTHs seen."""

    def __init__(self) -> None:
        self._aliases: dict[Key, dict[int, str]] = {}

    def decode(self, topic: SparkplugTopic, payload: bytes, now: float) -> Outcome:
        out = Outcome()
        try:
            message = Payload.FromString(payload)
        except (DecodeError, ValueError, RecursionError) as exc:
            out.rejections.append(("bad_sparkplug", f"not a Sparkplug B payload: {exc}", None))
            return out
        ts = message.timestamp / 1000.0 if message.HasField("timestamp") else now
        if topic.kind.endswith("DEATH"):
            self._death(topic, ts, out)
        elif topic.kind.endswith("BIRTH"):
            self._birth(topic, message, ts, out)
        else:
            self._metrics(topic, message.metrics, self._aliases.get(topic.key, {}), ts, out)
            if not message.metrics:  # acknowledged, so it must leave a trace
                out.rejections.append(("no_metric", f"{topic.kind} without metrics", None))
        return out

    def _birth(self, topic: SparkplugTopic, message: Any, ts: float, out: Outcome) -> None:
        if topic.device is None:  # a new node session: its devices are born again after it
            for key in [k for k in self._aliases if k[:2] == topic.key[:2]]:
                del self._aliases[key]
        aliases = {m.alias: m.name for m in message.metrics if m.HasField("alias") and m.name}
        self._aliases[topic.key] = aliases
        out.readings.append((topic.asset, (ONLINE, ts, 1.0, None)))
        self._metrics(topic, message.metrics, aliases, ts, out)

    def _death(self, topic: SparkplugTopic, ts: float, out: Outcome) -> None:
        keys = [topic.key]
        if topic.device is None:
            keys += [k for k in self._aliases if k[:2] == topic.key[:2] and k[2] is not None]
        for key in dict.fromkeys(keys):
            self._aliases.pop(key, None)
            asset = key[2] if key[2] is not None else key[1]
            out.readings.append((asset, (ONLINE, ts, 0.0, None)))

    def _metrics(
        self, topic: SparkplugTopic, metrics: Any, aliases: dict[int, str], ts: float, out: Outcome
    ) -> None:
        for m in metrics:
            name = m.name or (aliases.get(m.alias) if m.HasField("alias") else None)
            if not name:
                detail = (
                    f"alias {m.alias} of {topic.asset} has no name: no BIRTH seen for it since "
                    "gatewatch started; the edge node sends one when asked to rebirth"
                )
                out.rejections.append(("unknown_alias", detail, None))
                continue
            metric = name.replace("/", ".")
            when = m.timestamp / 1000.0 if m.HasField("timestamp") else ts
            try:
                out.readings.append((topic.asset, (metric, when, _value(m), None)))
            except ValueError as exc:
                out.rejections.append(("not_a_number", str(exc), metric))


def _value(m: Any) -> float:
    if m.is_null:
        raise ValueError("the metric is null (is_null)")
    which = m.WhichOneof("value")
    kind = m.datatype
    if which is None or which in ("string_value", "bytes_value"):
        name = _TYPE_NAMES.get(kind, f"datatype {kind}")
        raise ValueError(f"a {name} metric is not a number")
    raw = getattr(m, which)
    if kind in _SIGNED_BITS and which in ("int_value", "long_value"):
        bits, width = _SIGNED_BITS[kind], 32 if which == "int_value" else 64
        raw = raw - (1 << width) if raw >= 1 << (width - 1) else raw
        if not -(1 << (bits - 1)) <= raw < 1 << (bits - 1):
            raise ValueError(f"{raw} does not fit its Int{bits} datatype")
    elif kind not in _NUMERIC and kind not in _SIGNED_BITS and kind != 0:
        raise ValueError(f"a {_TYPE_NAMES.get(kind, f'datatype {kind}')} metric is not a number")
    return float(raw)  # a NaN or infinity is refused as non_finite by the decoder
