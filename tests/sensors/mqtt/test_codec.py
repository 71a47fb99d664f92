from __future__ import annotations

import pytest
from gatewatch.sensors.mqtt import codec
from hypothesis import given
from hypothesis import strategies as st


def publish_packet(
    topic: bytes, payload: bytes, qos: int, pid: int = 0, props: bytes = b""
) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += pid.to_bytes(2, "big")
    body += codec.encode_varint(len(props)) + props + payload
    return bytes([0x30 | (qos << 1)]) + codec.encode_varint(len(body)) + body


@pytest.mark.parametrize("n", [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455])
def test_varint_round_trip(n: int) -> None:
    raw = codec.encode_varint(n)
    got = codec._varint_at(raw, 0, len(raw))
    assert got == (n, len(raw))


def test_publishes_split_across_reads_are_reassembled() -> None:
    stream = b"".join(
        publish_packet(b"a/b", b"%d" % i, qos=i % 2, pid=i + 1, props=b"\x01\x01" if i % 3 else b"")
        for i in range(50)
    )
    dec = codec.Decoder()
    out: list[codec.Publish | codec.Control] = []
    for i in range(0, len(stream), 7):
        out.extend(dec.feed(stream[i : i + 7]))
    assert [p.payload for p in out if isinstance(p, codec.Publish)] == [
        b"%d" % i for i in range(50)
    ]
    assert [p.packet_id for p in out if isinstance(p, codec.Publish)] == [
        i + 1 if i % 2 else 0 for i in range(50)
    ]


def test_control_packets_and_connack_suback_parsing() -> None:
    dec = codec.Decoder()
    connack = b"\x20\x03\x01\x00\x00"
    suback = b"\x90\x04\x00\x01\x00\x01"
    [a, b] = dec.feed(connack + suback)
    assert isinstance(a, codec.Control) and codec.parse_connack(a.body) == (True, 0)
    assert isinstance(b, codec.Control) and codec.parse_suback(b.body) == (1, [1])


def test_connect_packet_carries_session_and_credentials() -> None:
    raw = codec.encode_connect(
        "gw",
        keepalive=30,
        clean_start=False,
        session_expiry=60,
        receive_maximum=100,
        username="u",
        password=b"p",
    )
    assert raw[0] == 0x10
    assert b"MQTT\x05" in raw
    flags = raw[raw.index(b"MQTT\x05") + 5]
    assert flags & 0x02 == 0  # clean start off: persistent session
    assert flags & 0xC0 == 0xC0  # username and password
    assert raw.endswith(b"\x00\x02gw\x00\x01u\x00\x01p")


def test_pubacks_are_in_order() -> None:
    assert codec.encode_pubacks([1, 2, 258]) == b"\x40\x02\x00\x01\x40\x02\x00\x02\x40\x02\x01\x02"


@pytest.mark.parametrize(
    "frame",
    [
        b"\x30\xff\xff\xff\xff\x01",  # 5-byte varint
        b"\x36\x05\x00\x01a\x00\x01",  # QoS 3
        b"\x32\x04\x00\x01a\x00",  # no room for packet id... truncated
        b"\x32\x05\x00\x01a\x00\x00",  # packet id 0
        b"\x10\x00",  # CONNECT from the broker
        b"\x30\x03\x00\x05a",  # topic length beyond the packet
    ],
)
def test_malformed_frames_raise(frame: bytes) -> None:
    with pytest.raises(codec.MalformedPacketError):
        codec.Decoder().feed(frame)


def test_packet_over_the_limit_is_refused_before_buffering() -> None:
    with pytest.raises(codec.MalformedPacketError, match="exceeds limit"):
        codec.Decoder(max_packet=100).feed(b"\x30" + codec.encode_varint(1000))


@given(st.binary(max_size=200))
def test_random_bytes_either_parse_or_raise_malformed(data: bytes) -> None:
    try:
        out = codec.Decoder().feed(data)
    except codec.MalformedPacketError:
        return
    assert all(isinstance(p, codec.Publish | codec.Control) for p in out)
