from __future__ import annotations

import pytest
from gatewatch.sensors.mqtt import codec
from gatewatch.sensors.mqtt.properties import ConnAck, parse_connack
from gatewatch.sensors.mqtt.varint import varint_at
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
    got = varint_at(raw, 0, len(raw))
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
    assert isinstance(a, codec.Control) and parse_connack(a.body) == ConnAck(True, 0)
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


def test_control_packet_over_the_limit_is_refused_before_buffering() -> None:
    with pytest.raises(codec.MalformedPacketError, match="exceeds limit"):
        codec.Decoder(max_packet=100).feed(b"\x90" + codec.encode_varint(1000))


@pytest.mark.parametrize("version", [codec.MQTT_5, codec.MQTT_311])
@pytest.mark.parametrize("chunk", [1, 7, 4096, 10**7])
def test_oversized_publish_is_reported_and_skipped_without_buffering(
    version: int, chunk: int
) -> None:
    """MQTT-3.1.2-24 lets a broker not send it; one that does (ejabberd) must not
    poison the session: its header comes out as Oversized, its body is skipped
    as it arrives, and the packets after it decode."""
    props = b"\x00" if version == codec.MQTT_5 else b""

    def pub(topic: bytes, payload: bytes, pid: int) -> bytes:
        body = len(topic).to_bytes(2, "big") + topic + pid.to_bytes(2, "big") + props + payload
        return b"\x32" + codec.encode_varint(len(body)) + body

    big_payload = b"{" + b"x" * 2_000_000 + b"}"
    stream = pub(b"t/a", b"1", 1) + pub(b"t/big", big_payload, 2) + pub(b"t/b", b"2", 3)
    dec = codec.Decoder(max_packet=10_000, version=version)
    out: list[codec.Packet] = []
    for i in range(0, len(stream), chunk):
        out.extend(dec.feed(stream[i : i + chunk]))
        assert len(dec._buf) <= 10_000 + 8  # never the whole oversized packet
    assert [type(p).__name__ for p in out] == ["Publish", "Oversized", "Publish"]
    big = out[1]
    assert isinstance(big, codec.Oversized)
    assert (big.topic, big.qos, big.packet_id) == (b"t/big", 1, 2)
    assert big.size == len(big_payload) + 2 + 5 + 2 + len(props)
    assert big.head == big_payload[: codec.OVERSIZED_HEAD]
    assert [p.payload for p in out if isinstance(p, codec.Publish)] == [b"1", b"2"]


def test_publish_311_has_no_property_block() -> None:
    body = b"\x00\x03t/a" + b"\x00\x07" + b"\x01\x02"  # would be props in MQTT 5
    frame = b"\x32" + codec.encode_varint(len(body)) + body
    [p5] = codec.Decoder(version=codec.MQTT_5).feed(frame)
    [p4] = codec.Decoder(version=codec.MQTT_311).feed(frame)
    assert isinstance(p4, codec.Publish) and isinstance(p5, codec.Publish)
    assert p4.payload == b"\x01\x02" and p4.packet_id == 7
    assert p5.payload == b""  # MQTT 5 reads \x01 as a property length, skips \x02


def test_connect_and_subscribe_311_carry_no_properties() -> None:
    raw = codec.encode_connect(
        "gw", keepalive=30, clean_start=False, session_expiry=60, receive_maximum=100,
        version=codec.MQTT_311,
    )  # fmt: skip
    # fixed header, "MQTT", level 4, flags (clean session off), keepalive 30, client id
    assert raw == b"\x10\x0e\x00\x04MQTT\x04\x00\x00\x1e\x00\x02gw"
    sub = codec.encode_subscribe(1, [("a/#", 1)], codec.MQTT_311)
    assert sub == b"\x82\x08\x00\x01\x00\x03a/#\x01"  # reserved option bits 0
    assert codec.parse_suback(b"\x00\x01\x01\x80", codec.MQTT_311) == (1, [1, 0x80])


def test_qos2_handshake_packets() -> None:
    assert codec.encode_pubrec(258) == b"\x50\x02\x01\x02"
    assert codec.encode_pubcomp(258) == b"\x70\x02\x01\x02"
    [rel] = codec.Decoder().feed(b"\x62\x02\x01\x02")
    assert isinstance(rel, codec.Control) and rel.type == codec.PUBREL
    assert codec.packet_id(rel.body) == 258


@given(st.binary(max_size=200))
def test_random_bytes_either_parse_or_raise_malformed(data: bytes) -> None:
    try:
        out = codec.Decoder().feed(data)
    except codec.MalformedPacketError:
        return
    assert all(isinstance(p, codec.Publish | codec.Control | codec.Oversized) for p in out)


@given(st.binary(max_size=300), st.integers(min_value=16, max_value=64))
def test_random_bytes_with_a_small_limit_parse_or_raise_malformed(data: bytes, limit: int) -> None:
    """The oversized path, fuzzed: any bytes either decode or raise, in any chunking."""
    dec = codec.Decoder(max_packet=limit)
    try:
        for i in range(0, len(data), 5):
            for p in dec.feed(data[i : i + 5]):
                assert isinstance(p, codec.Publish | codec.Control | codec.Oversized)
    except codec.MalformedPacketError:
        return
