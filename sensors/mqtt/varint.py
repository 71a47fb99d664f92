"""MQTT's Variable Byte Integer (MQTT 5.0 1.5.5), read from a buffer that may be incomplete."""

from __future__ import annotations

from gatewatch.sensors.mqtt.errors import MalformedPacketError


def varint_at(buf: bytes, pos: int, end: int) -> tuple[int, int] | None:
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
