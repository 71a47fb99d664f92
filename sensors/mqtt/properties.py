"""MQTT 5 properties (OASIS MQTT 5.0 section 2.2.2) and the CONNACK that carries them.

Pure functions over bytes. Only CONNACK and DISCONNECT properties are read:
on the PUBLISH hot path the decoder skips properties by their length.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from gatewatch.sensors.mqtt.errors import MalformedPacketError
from gatewatch.sensors.mqtt.varint import varint_at

# identifier -> wire type (MQTT 5.0 table 2-4)
_BYTE, _TWO, _FOUR, _VARINT, _UTF8, _BINARY, _PAIR = range(7)
_TYPES = {
    0x01: _BYTE, 0x02: _FOUR, 0x03: _UTF8, 0x08: _UTF8, 0x09: _BINARY, 0x0B: _VARINT,
    0x11: _FOUR, 0x12: _UTF8, 0x13: _TWO, 0x15: _UTF8, 0x16: _BINARY, 0x17: _BYTE,
    0x18: _FOUR, 0x19: _BYTE, 0x1A: _UTF8, 0x1C: _UTF8, 0x1F: _UTF8, 0x21: _TWO,
    0x22: _TWO, 0x23: _TWO, 0x24: _BYTE, 0x25: _BYTE, 0x26: _PAIR, 0x27: _FOUR,
    0x28: _BYTE, 0x29: _BYTE, 0x2A: _BYTE,
}  # fmt: skip

SESSION_EXPIRY = 0x11
ASSIGNED_CLIENT_ID = 0x12
SERVER_KEEP_ALIVE = 0x13
REASON_STRING = 0x1F
RECEIVE_MAXIMUM = 0x21
MAXIMUM_QOS = 0x24
MAXIMUM_PACKET_SIZE = 0x27

Value = int | str | bytes | tuple[str, str]


def read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """A variable byte integer at ``pos`` of a complete packet: (value, position after it)."""
    got = varint_at(buf, pos, end)
    if got is None:
        raise MalformedPacketError("variable byte integer truncated")
    return got


def _need(end: int, pos: int, n: int, what: str) -> None:
    if pos + n > end:
        raise MalformedPacketError(f"property {what} truncated")


def _utf8(buf: bytes, pos: int, end: int) -> tuple[str, int]:
    _need(end, pos, 2, "string length")
    n = (buf[pos] << 8) | buf[pos + 1]
    _need(end, pos + 2, n, "string")
    try:
        return buf[pos + 2 : pos + 2 + n].decode("utf-8"), pos + 2 + n
    except UnicodeDecodeError as exc:
        raise MalformedPacketError(f"property string is not UTF-8: {exc}") from None


def parse_properties(buf: bytes, pos: int, end: int) -> tuple[dict[int, Value], int]:
    """The property block at ``pos`` (its length first): (properties, position after it).

    A repeated property keeps its last value, user properties included (they are
    only logged); an unknown identifier is a malformed packet (MQTT-2.2.2-... any
    packet with an invalid property must be treated as malformed).
    """
    length, pos = read_varint(buf, pos, end)
    stop = pos + length
    if stop > end:
        raise MalformedPacketError("properties overrun the packet")
    props: dict[int, Value] = {}
    while pos < stop:
        ident, pos = read_varint(buf, pos, stop)
        kind = _TYPES.get(ident)
        value: Value
        if kind is None:
            raise MalformedPacketError(f"unknown property identifier {ident:#04x}")
        if kind == _BYTE:
            _need(stop, pos, 1, f"{ident:#04x}")
            value, pos = buf[pos], pos + 1
        elif kind == _TWO:
            _need(stop, pos, 2, f"{ident:#04x}")
            value, pos = struct.unpack_from("!H", buf, pos)[0], pos + 2
        elif kind == _FOUR:
            _need(stop, pos, 4, f"{ident:#04x}")
            value, pos = struct.unpack_from("!I", buf, pos)[0], pos + 4
        elif kind == _VARINT:
            value, pos = read_varint(buf, pos, stop)
        elif kind == _UTF8:
            value, pos = _utf8(buf, pos, stop)
        elif kind == _BINARY:
            _need(stop, pos, 2, f"{ident:#04x}")
            n = (buf[pos] << 8) | buf[pos + 1]
            _need(stop, pos + 2, n, f"{ident:#04x}")
            value, pos = bytes(buf[pos + 2 : pos + 2 + n]), pos + 2 + n
        else:
            key, pos = _utf8(buf, pos, stop)
            val, pos = _utf8(buf, pos, stop)
            value = (key, val)
        props[ident] = value
    return props, stop


@dataclass(frozen=True, slots=True)
class ConnAck:
    """What the broker said to our CONNECT; None where it sent no such property."""

    session_present: bool
    reason: int
    session_expiry: int | None = None
    receive_maximum: int | None = None
    maximum_qos: int | None = None
    maximum_packet_size: int | None = None
    server_keep_alive: int | None = None
    assigned_client_id: str | None = None
    reason_string: str | None = None


def parse_connack(body: bytes, version: int = 5) -> ConnAck:
    """A CONNACK body: flags, reason (return code on 3.1.1), and on MQTT 5 its properties."""
    if len(body) < 2:
        raise MalformedPacketError("CONNACK too short")
    present, reason = bool(body[0] & 0x01), body[1]
    if version != 5 or len(body) == 2:  # 3.1.1; or a 3.1.1 broker answering our v5 CONNECT
        return ConnAck(present, reason)
    props, _ = parse_properties(body, 2, len(body))

    def num(ident: int) -> int | None:
        v = props.get(ident)
        return v if isinstance(v, int) else None

    def text(ident: int) -> str | None:
        v = props.get(ident)
        return v if isinstance(v, str) else None

    return ConnAck(
        present,
        reason,
        session_expiry=num(SESSION_EXPIRY),
        receive_maximum=num(RECEIVE_MAXIMUM),
        maximum_qos=num(MAXIMUM_QOS),
        maximum_packet_size=num(MAXIMUM_PACKET_SIZE),
        server_keep_alive=num(SERVER_KEEP_ALIVE),
        assigned_client_id=text(ASSIGNED_CLIENT_ID),
        reason_string=text(REASON_STRING),
    )


def parse_disconnect(body: bytes) -> tuple[int, str | None]:
    """A DISCONNECT body: (reason code, reason string); no body means 0x00."""
    if not body:
        return 0, None
    reason = body[0]
    if len(body) == 1:
        return reason, None
    try:
        props, _ = parse_properties(body, 1, len(body))
    except MalformedPacketError:
        return reason, None  # the broker is leaving anyway: keep its reason code
    text = props.get(REASON_STRING)
    return reason, text if isinstance(text, str) else None
