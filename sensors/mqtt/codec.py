"""MQTT 5 and 3.1.1 packet encoding and an incremental decoder for a subscriber.

Pure functions over bytes: no sockets, no clock. Only what a subscribe-only
client needs (OASIS MQTT 5.0, and MQTT 3.1.1 = protocol level 4): CONNECT,
SUBSCRIBE, PUBACK, PUBREC, PUBCOMP, PINGREQ, DISCONNECT out; CONNACK, SUBACK,
PUBLISH, PUBREL, PINGRESP, DISCONNECT in. QoS 2 is never requested, but a
broker that sends it anyway gets the QoS 2 handshake (MQTT-4.3.3). A PUBLISH
larger than the client's Maximum Packet Size is not buffered: its header is
read (topic, packet id, the first payload bytes) and the rest skipped as it
arrives, so it can be dead-lettered and acknowledged (``Oversized``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

from gatewatch.sensors.mqtt.errors import MalformedPacketError
from gatewatch.sensors.mqtt.properties import (
    MAXIMUM_PACKET_SIZE,
    RECEIVE_MAXIMUM,
    SESSION_EXPIRY,
)
from gatewatch.sensors.mqtt.varint import varint_at as _varint_at

__all__ = ["MalformedPacketError"]  # re-exported: callers catch codec.MalformedPacketError

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14
MQTT_5, MQTT_311 = 5, 4  # protocol levels
OVERSIZED_HEAD = 256  # payload bytes of an oversized PUBLISH kept for its dead letter
_OVERSIZED_HEADER_MAX = 131_072  # topic + properties we wait for before skipping the rest

PINGREQ_PACKET = b"\xc0\x00"
DISCONNECT_PACKET = b"\xe0\x00"
MAX_PACKET = 268_435_455  # the largest Remaining Length MQTT can express


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
    version: int = MQTT_5,
) -> bytes:
    """CONNECT. On 3.1.1 clean_start is Clean Session and there are no properties:
    the session lasts until a clean connect (the broker's own expiry aside)."""
    flags = 0x02 if clean_start else 0
    if username is not None:
        flags |= 0x80
    if password is not None:
        flags |= 0x40
    body = _str("MQTT") + bytes([version, flags]) + struct.pack("!H", keepalive)
    if version == MQTT_5:
        props = bytes([SESSION_EXPIRY]) + struct.pack("!I", session_expiry)
        props += bytes([RECEIVE_MAXIMUM]) + struct.pack("!H", receive_maximum)
        if maximum_packet_size:
            props += bytes([MAXIMUM_PACKET_SIZE]) + struct.pack("!I", maximum_packet_size)
        body += encode_varint(len(props)) + props
    body += _str(client_id)
    if username is not None:
        body += _str(username)
    if password is not None:
        body += _bin(password)
    return _packet(CONNECT << 4, body)


def encode_subscribe(
    packet_id: int, filters: list[tuple[str, int]], version: int = MQTT_5
) -> bytes:
    if version == MQTT_5:
        body = struct.pack("!H", packet_id) + b"\x00"
        # retain handling 1: retained messages only when the subscription is new,
        # so a reconnect does not replay them as fresh readings
        options = 0x10
    else:  # 3.1.1: no properties, and the option bits above QoS are reserved (MQTT-3.8.3-4)
        body, options = struct.pack("!H", packet_id), 0
    for topic_filter, qos in filters:
        body += _str(topic_filter) + bytes([(qos & 0x03) | options])
    return _packet((SUBSCRIBE << 4) | 0x02, body)


_PUBACK = struct.Struct("!BBH")


def encode_puback(packet_id: int) -> bytes:
    return _PUBACK.pack(PUBACK << 4, 2, packet_id)


def encode_pubacks(packet_ids: list[int]) -> bytes:
    pack = _PUBACK.pack
    return b"".join([pack(0x40, 2, pid) for pid in packet_ids])


def encode_pubrec(packet_id: int) -> bytes:
    return _PUBACK.pack(PUBREC << 4, 2, packet_id)


def encode_pubcomp(packet_id: int) -> bytes:
    return _PUBACK.pack(PUBCOMP << 4, 2, packet_id)


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
class Oversized:
    """A PUBLISH larger than the client's Maximum Packet Size: its header and the
    first payload bytes; the rest was skipped, never held in memory."""

    topic: bytes
    qos: int
    packet_id: int
    size: int  # the packet's Remaining Length
    head: bytes  # up to OVERSIZED_HEAD bytes of its payload


@dataclass(frozen=True, slots=True)
class Control:
    """Any packet other than PUBLISH: type and raw body."""

    type: int
    flags: int
    body: bytes


Packet = Publish | Oversized | Control
_CONTROL_IN = frozenset((CONNACK, SUBACK, PINGRESP, DISCONNECT, PUBACK, PUBREL))


class Decoder:
    """Incremental decoder: ``feed(bytes)`` returns the complete packets so far."""

    def __init__(self, max_packet: int = MAX_PACKET, version: int = MQTT_5) -> None:
        self._buf = b""
        self._skip = 0  # bytes of an oversized PUBLISH still to discard
        self.max_packet = max_packet
        self.version = version

    def feed(self, data: bytes) -> list[Packet]:
        if self._skip:
            n = min(self._skip, len(data))
            self._skip -= n
            data = data[n:]
        buf = self._buf + data if self._buf else data
        end, pos = len(buf), 0
        out: list[Packet] = []
        append, max_packet = out.append, self.max_packet
        props = self.version == MQTT_5
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
                got_big = self._skip_oversized(first, buf, start, end, length)
                if got_big is None:
                    break  # its header is not all here yet
                big, pos = got_big
                append(big)
                if self._skip:
                    break
                continue
            stop = start + length
            if stop > end:
                break
            if first >> 4 == PUBLISH:
                append(_publish(first, buf, start, stop, props))
            elif first >> 4 in _CONTROL_IN:
                append(Control(first >> 4, first & 0x0F, buf[start:stop]))
            else:
                raise MalformedPacketError(f"unexpected packet type {first >> 4} from broker")
            pos = stop
        self._buf = buf[pos:] if pos < end else b""
        return out

    def _skip_oversized(
        self, first: int, buf: bytes, start: int, end: int, length: int
    ) -> tuple[Oversized, int] | None:
        """An oversized PUBLISH's header, its body skipped: (header, position after
        what was consumed), or None until the header has arrived."""
        if first >> 4 != PUBLISH:
            raise MalformedPacketError(f"packet of {length} bytes exceeds limit {self.max_packet}")
        big = self._oversized(first, buf, start, min(end, start + length), length)
        if big is None:
            return None
        stop = start + length
        if stop > end:
            self._skip = stop - end
            return big, end
        return big, stop

    def _oversized(
        self, first: int, buf: bytes, start: int, avail: int, length: int
    ) -> Oversized | None:
        """The header of an oversized PUBLISH, or None until enough of it has arrived."""
        qos = (first >> 1) & 0x03
        if qos == 3:
            raise MalformedPacketError("PUBLISH with QoS 3")
        if start + 2 > avail:
            return None
        pos = start + 2 + ((buf[start] << 8) | buf[start + 1])
        if qos:
            pos += 2
        complete = avail == start + length
        if self.version == MQTT_5:
            got = _varint_at(buf, pos, avail) if pos < avail else None
            if got is None:
                _header_can_fit(avail - start, complete)
                return None
            plen, pos = got
            pos += plen
        if pos > avail or avail < min(start + length, pos + OVERSIZED_HEAD):
            _header_can_fit(avail - start, complete)  # wait for the header and the payload's head
            return None
        topic_end = start + 2 + ((buf[start] << 8) | buf[start + 1])
        pid = (buf[topic_end] << 8) | buf[topic_end + 1] if qos else 0
        if qos and pid == 0:
            raise MalformedPacketError("PUBLISH with packet id 0")
        head = bytes(buf[pos : min(avail, pos + OVERSIZED_HEAD)])
        return Oversized(bytes(buf[start + 2 : topic_end]), qos, pid, length, head)


def _header_can_fit(have: int, complete: bool) -> None:
    """Raise when waiting for more bytes of an oversized PUBLISH's header is pointless."""
    if complete:
        raise MalformedPacketError("PUBLISH header overruns the packet")
    if have > _OVERSIZED_HEADER_MAX:
        raise MalformedPacketError(
            f"oversized PUBLISH whose header exceeds {_OVERSIZED_HEADER_MAX} bytes"
        )


def _publish(first: int, buf: bytes, start: int, stop: int, props: bool = True) -> Publish:
    """A PUBLISH; ``props`` False for 3.1.1, which has no property block."""
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
    if not props:
        pass
    elif pos < stop and buf[pos] < 0x80:  # property length in one byte: the common case
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


def parse_suback(body: bytes, version: int = MQTT_5) -> tuple[int, list[int]]:
    """Return (packet_id, reason codes); codes >= 0x80 are refusals."""
    if len(body) < 3:
        raise MalformedPacketError("SUBACK too short")
    pid = (body[0] << 8) | body[1]
    if version != MQTT_5:
        return pid, list(body[2:])
    got = _varint_at(body, 2, len(body))
    if got is None:
        raise MalformedPacketError("SUBACK properties truncated")
    plen, pos = got
    return pid, list(body[pos + plen :])


def packet_id(body: bytes) -> int:
    """The packet identifier that starts a PUBREL (and PUBACK) body."""
    if len(body) < 2:
        raise MalformedPacketError("packet too short for a packet identifier")
    return (body[0] << 8) | body[1]
