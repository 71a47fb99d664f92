"""MQTT 5 packet encoding and an incremental decoder for a subscriber.

Pure functions over bytes: no sockets, no clock. Only what a subscribe-only
client needs (OASIS MQTT 5.0): CONNECT, SUBSCRIBE, PUBACK, PINGREQ,
DISCONNECT out; CONNACK, SUBACK, PUBLISH, PINGRESP, DISCONNECT in. QoS 2 is
never requested, so the broker never sends it (it downgrades to our maximum).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14

PINGREQ_PACKET = b"\xc0\x00"
DISCONNECT_PACKET = b"\xe0\x00"
MAX_PACKET = 268_435_455  # the largest Remaining Length MQTT can express

# property identifiers used here
_SESSION_EXPIRY = 0x11
_RECEIVE_MAXIMUM = 0x21
_MAXIMUM_PACKET_SIZE = 0x27

CONNACK_REASONS = {
    0x00: "success",
    0x80: "unspecified error",
    0x81: "malformed packet",
    0x82: "protocol error",
    0x84: "unsupported protocol version",
    0x85: "client identifier not valid",
    0x86: "bad user name or password",
    0x87: "not authorized",
    0x88: "server unavailable",
    0x89: "server busy",
    0x8A: "banned",
    0x8C: "bad authentication method",
    0x95: "packet too large",
    0x97: "quota exceeded",
    0x9F: "connection rate exceeded",
}


class MalformedPacketError(Exception):
    """The byte stream is not valid MQTT; the connection must be dropped."""


def encode_varint(n: int) -> bytes:
    if not 0 <= n <= MAX_PACKET:
        raise ValueError(f"variable byte integer out of range: {n}")
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _str(s: str) -> bytes:
    raw = s.encode("utf-8")
    return struct.pack("!H", len(raw)) + raw


def _bin(b: bytes) -> bytes:
    return struct.pack("!H", len(b)) + b


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + encode_varint(len(body)) + body


def encode_connect(
    client_id: str,
    *,
    keepalive: int,
    clean_start: bool,
    session_expiry: int,
    receive_maximum: int,
    maximum_packet_size: int = 0,
    username: str | None = None,
    password: bytes | None = None,
) -> bytes:
    flags = 0x02 if clean_start else 0
    if username is not None:
        flags |= 0x80
    if password is not None:
        flags |= 0x40
    props = bytes([_SESSION_EXPIRY]) + struct.pack("!I", session_expiry)
    props += bytes([_RECEIVE_MAXIMUM]) + struct.pack("!H", receive_maximum)
    if maximum_packet_size:
        props += bytes([_MAXIMUM_PACKET_SIZE]) + struct.pack("!I", maximum_packet_size)
    body = _str("MQTT") + bytes([5, flags]) + struct.pack("!H", keepalive)
    body += encode_varint(len(props)) + props + _str(client_id)
    if username is not None:
        body += _str(username)
    if password is not None:
        body += _bin(password)
    return _packet(CONNECT << 4, body)


def encode_subscribe(packet_id: int, filters: list[tuple[str, int]]) -> bytes:
    body = struct.pack("!H", packet_id) + b"\x00"
    for topic_filter, qos in filters:
        # retain handling 1: retained messages only when the subscription is new,
        # so a reconnect does not replay them as fresh readings
        body += _str(topic_filter) + bytes([(qos & 0x03) | 0x10])
    return _packet((SUBSCRIBE << 4) | 0x02, body)


_PUBACK = struct.Struct("!BBH")


def encode_puback(packet_id: int) -> bytes:
    return _PUBACK.pack(PUBACK << 4, 2, packet_id)


def encode_pubacks(packet_ids: list[int]) -> bytes:
    pack = _PUBACK.pack
    return b"".join([pack(0x40, 2, pid) for pid in packet_ids])


class Publish(NamedTuple):
    """An incoming PUBLISH. Immutable; a named tuple because one is built per
    message and that costs half of a frozen dataclass (ingest benchmark)."""

    topic: bytes
    payload: bytes
    qos: int
    packet_id: int  # 0 for QoS 0
    dup: bool
    retain: bool


@dataclass(frozen=True, slots=True)
class Control:
    """Any packet other than PUBLISH: type and raw body."""

    type: int
    flags: int
    body: bytes


def _varint_at(buf: bytes, pos: int, end: int) -> tuple[int, int] | None:
    """Decode a variable byte integer at pos; None if more bytes are needed."""
    value, shift = 0, 0
    for i in range(4):
        if pos + i >= end:
            return None
        byte = buf[pos + i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos + i + 1
        shift += 7
    raise MalformedPacketError("variable byte integer longer than 4 bytes")


class Decoder:
    """Incremental decoder: ``feed(bytes)`` returns the complete packets so far."""

    def __init__(self, max_packet: int = MAX_PACKET) -> None:
        self._buf = b""
        self.max_packet = max_packet

    def feed(self, data: bytes) -> list[Publish | Control]:
        buf = self._buf + data if self._buf else data
        end, pos = len(buf), 0
        out: list[Publish | Control] = []
        append, max_packet = out.append, self.max_packet
        while pos + 2 <= end:
            first = buf[pos]
            length = buf[pos + 1]
            if length < 0x80:  # the common case: a packet under 128 bytes
                start = pos + 2
            else:
                got = _varint_at(buf, pos + 1, end)
                if got is None:
                    break
                length, start = got
            if length > max_packet:
                raise MalformedPacketError(f"packet of {length} bytes exceeds limit {max_packet}")
            stop = start + length
            if stop > end:
                break
            if first >> 4 == PUBLISH:
                append(_publish(first, buf, start, stop))
            elif first >> 4 in (CONNACK, SUBACK, PINGRESP, DISCONNECT, PUBACK):
                append(Control(first >> 4, first & 0x0F, buf[start:stop]))
            else:
                raise MalformedPacketError(f"unexpected packet type {first >> 4} from broker")
            pos = stop
        self._buf = buf[pos:] if pos < end else b""
        return out


def _publish(first: int, buf: bytes, start: int, stop: int) -> Publish:
    qos = (first >> 1) & 0x03
    if qos == 3:
        raise MalformedPacketError("PUBLISH with QoS 3")
    if start + 2 > stop:
        raise MalformedPacketError("PUBLISH too short for a topic")
    pos = start + 2 + ((buf[start] << 8) | buf[start + 1])
    topic = buf[start + 2 : pos]
    pid = 0
    if qos:
        if pos + 2 > stop:
            raise MalformedPacketError("PUBLISH too short for a packet id")
        pid = (buf[pos] << 8) | buf[pos + 1]
        if pid == 0:
            raise MalformedPacketError("PUBLISH with packet id 0")
        pos += 2
    if pos < stop and buf[pos] < 0x80:  # property length in one byte: the common case
        pos += 1 + buf[pos]
    else:
        got = _varint_at(buf, pos, stop)
        if got is None:
            raise MalformedPacketError("PUBLISH properties truncated")
        plen, pos = got
        pos += plen
    if pos > stop:
        raise MalformedPacketError("PUBLISH properties overrun the packet")
    return Publish(topic, buf[pos:stop], qos, pid, bool(first & 0x08), bool(first & 0x01))


def parse_connack(body: bytes) -> tuple[bool, int]:
    """Return (session_present, reason_code)."""
    if len(body) < 2:
        raise MalformedPacketError("CONNACK too short")
    return bool(body[0] & 0x01), body[1]


def parse_suback(body: bytes) -> tuple[int, list[int]]:
    """Return (packet_id, reason codes); codes >= 0x80 are refusals."""
    if len(body) < 3:
        raise MalformedPacketError("SUBACK too short")
    pid = (body[0] << 8) | body[1]
    got = _varint_at(body, 2, len(body))
    if got is None:
        raise MalformedPacketError("SUBACK properties truncated")
    plen, pos = got
    return pid, list(body[pos + plen :])


def disconnect_reason(body: bytes) -> int:
    return body[0] if body else 0
