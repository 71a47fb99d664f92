"""CONNACK and DISCONNECT properties (MQTT 5.0 section 2.2.2), and reason names."""

from __future__ import annotations

import struct

import pytest
from gatewatch.sensors.mqtt import codec, reasons
from gatewatch.sensors.mqtt.properties import ConnAck, parse_connack, parse_disconnect
from hypothesis import given
from hypothesis import strategies as st


def props(*items: bytes) -> bytes:
    body = b"".join(items)
    return codec.encode_varint(len(body)) + body


def test_connack_caps_are_read() -> None:
    """What ejabberd and mosquitto send back: Server Keep Alive (0x13), a capped
    Session Expiry (0x11), Receive Maximum (0x21), Maximum QoS (0x24), Maximum
    Packet Size (0x27), plus a user property and a reason string we only log."""
    body = b"\x01\x00" + props(
        b"\x13" + struct.pack("!H", 60),
        b"\x11" + struct.pack("!I", 3600),
        b"\x21" + struct.pack("!H", 10),
        b"\x24\x00",
        b"\x27" + struct.pack("!I", 1_000_000),
        b"\x26\x00\x01k\x00\x01v",
        b"\x1f\x00\x02hi",
        b"\x2a\x01",
    )
    assert parse_connack(body) == ConnAck(
        True,
        0,
        session_expiry=3600,
        receive_maximum=10,
        maximum_qos=0,
        maximum_packet_size=1_000_000,
        server_keep_alive=60,
        reason_string="hi",
    )


def test_connack_from_a_311_broker_to_our_v5_connect() -> None:
    """A 3.1.1 broker answers an unknown protocol level with return code 0x01
    (MQTT-3.1.2-2) and no properties."""
    ack = parse_connack(b"\x00\x01")
    assert ack == ConnAck(False, 1)
    assert ack.reason in reasons.UNSUPPORTED_VERSION
    assert reasons.reason_name(1, 4) == "unacceptable protocol version (0x01)"


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x00\x05\x13\x00",  # property truncated
        b"\x00\x00\x02\x7f\x00",  # unknown property identifier
        b"\x00\x00\x09",  # property length past the packet
        b"\x00",  # too short
        b"\x00\x00\x05\x1f\x00\x02\xff\xfe",  # reason string not UTF-8
    ],
)
def test_bad_connack_properties_are_malformed(body: bytes) -> None:
    with pytest.raises(codec.MalformedPacketError):
        parse_connack(body)


def test_disconnect_reason_and_string() -> None:
    assert parse_disconnect(b"") == (0, None)
    assert parse_disconnect(b"\x8e") == (0x8E, None)
    assert parse_disconnect(b"\x8e" + props(b"\x1f\x00\x03dup")) == (0x8E, "dup")
    assert parse_disconnect(b"\x95\x09garbage") == (0x95, None)  # reason kept
    assert reasons.reason_name(0x8E) == "session taken over (0x8e)"
    assert reasons.reason_name(0x95) == "packet too large (0x95)"
    assert reasons.reason_name(0x42) == "unknown reason (0x42)"


@given(st.binary(max_size=64))
def test_any_connack_parses_or_is_malformed(body: bytes) -> None:
    try:
        ack = parse_connack(body)
    except codec.MalformedPacketError:
        return
    assert isinstance(ack, ConnAck)
    parse_disconnect(body)  # never raises
