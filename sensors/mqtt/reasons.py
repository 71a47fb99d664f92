"""Reason and return codes by name, so logs say what the broker meant.

MQTT 5.0 section 2.4 (reason codes of CONNACK and DISCONNECT) and MQTT 3.1.1
section 3.2.2.3 (the CONNACK return codes of protocol level 4).
"""

from __future__ import annotations

REASONS_5 = {
    0x00: "success",
    0x04: "disconnect with will message",
    0x80: "unspecified error",
    0x81: "malformed packet",
    0x82: "protocol error",
    0x83: "implementation specific error",
    0x84: "unsupported protocol version",
    0x85: "client identifier not valid",
    0x86: "bad user name or password",
    0x87: "not authorized",
    0x88: "server unavailable",
    0x89: "server busy",
    0x8A: "banned",
    0x8B: "server shutting down",
    0x8C: "bad authentication method",
    0x8D: "keep alive timeout",
    0x8E: "session taken over",
    0x8F: "topic filter invalid",
    0x90: "topic name invalid",
    0x93: "receive maximum exceeded",
    0x94: "topic alias invalid",
    0x95: "packet too large",
    0x96: "message rate too high",
    0x97: "quota exceeded",
    0x98: "administrative action",
    0x99: "payload format invalid",
    0x9A: "retain not supported",
    0x9B: "QoS not supported",
    0x9C: "use another server",
    0x9D: "server moved",
    0x9E: "shared subscriptions not supported",
    0x9F: "connection rate exceeded",
    0xA0: "maximum connect time",
    0xA1: "subscription identifiers not supported",
    0xA2: "wildcard subscriptions not supported",
}

RETURN_CODES_311 = {
    0x00: "connection accepted",
    0x01: "unacceptable protocol version",
    0x02: "identifier rejected",
    0x03: "server unavailable",
    0x04: "bad user name or password",
    0x05: "not authorized",
}

SESSION_TAKEN_OVER = 0x8E
PACKET_TOO_LARGE = 0x95
# what a broker answers a CONNECT of a protocol level it does not speak: a 3.1.1
# broker sends return code 0x01 (MQTT-3.1.2-2), an MQTT 5 broker reason 0x84
UNSUPPORTED_VERSION = (0x01, 0x84)


def reason_name(code: int, version: int = 5) -> str:
    """``code`` by name, with its hex value: ``session taken over (0x8e)``."""
    table = REASONS_5 if version == 5 else RETURN_CODES_311
    return f"{table.get(code, 'unknown reason')} ({code:#04x})"
