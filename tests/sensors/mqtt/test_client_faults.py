"""The client against a scripted broker: what real brokers do only when broken.

Each case is a normative statement of MQTT 5.0 / 3.1.1 (docs/mqtt-conformance.md).
"""

from __future__ import annotations

import asyncio
import itertools
import struct
import time
from collections.abc import Callable

import pytest
import structlog
from gatewatch.sensors.mqtt import codec
from gatewatch.sensors.mqtt.client import MqttSubscriber
from gatewatch.sensors.mqtt.connection import Connection
from gatewatch.sensors.mqtt.settings import MqttSettings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from mqtt_broker_double import BrokerDouble, Peer, publish


class Sink:
    def __init__(self, ack: bool = True) -> None:
        self.ack = ack
        self.got: list[codec.Publish] = []
        self.oversized: list[codec.Oversized] = []

    def on_connection(self, conn: Connection) -> None:
        pass

    def on_publish(self, pub: codec.Publish, conn: Connection) -> None:
        self.got.append(pub)
        if self.ack and pub.qos:
            conn.ack([pub.packet_id])

    def on_oversized(self, pkt: codec.Oversized, conn: Connection) -> None:
        self.oversized.append(pkt)
        if pkt.qos:
            conn.ack([pkt.packet_id])


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def settings(port: int, **kw: object) -> MqttSettings:
    base: dict[str, object] = {
        "port": port, "client_id": "gw-faults", "subscriptions": (("t/#", 1),),
        "backoff_min": 0.05, "backoff_max": 0.4,
    }  # fmt: skip
    base.update(kw)
    return MqttSettings(**base)  # type: ignore[arg-type]


async def run_until(
    sub: MqttSubscriber, predicate: Callable[[], bool], timeout: float = 10
) -> None:
    task = asyncio.create_task(sub.run())
    try:
        await until(predicate, timeout)
    finally:
        sub.stop()
        await asyncio.wait_for(task, 10)


def test_server_keep_alive_replaces_ours() -> None:
    """MQTT-3.2.2-21: the client MUST use the Server Keep Alive of the CONNACK."""
    pings: list[float] = []

    async def script(peer: Peer) -> None:
        props = b"\x13" + struct.pack("!H", 1)  # Server Keep Alive 1 s
        await peer.accept(
            b"\x20" + bytes([3 + len(props)]) + b"\x00\x00" + bytes([len(props)]) + props
        )
        while True:
            ptype, _ = await peer.packet(timeout=5)
            if ptype == codec.PINGREQ:
                pings.append(time.monotonic())
                await peer.send(b"\xd0\x00")

    async def body() -> None:
        async with BrokerDouble(script) as broker:
            sub = MqttSubscriber(settings(broker.port, keepalive=60), Sink())
            await run_until(sub, lambda: len(pings) >= 4, timeout=8)
            assert sub.connection is not None and sub.connection.keepalive == 1
            assert sub.stats.keepalive == 1 and sub.connects == 1

    asyncio.run(body())
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert all(0.3 < g < 0.9 for g in gaps), gaps  # every half of 1 s, not of 60 s


def test_half_open_broker_is_left_after_one_and_a_half_keepalives() -> None:
    """A broker that stops answering (no PINGRESP, nothing) must not keep us
    'connected' for ever (MQTT 5.0 3.1.2.10: 1.5 x Keep Alive)."""

    async def silent(peer: Peer) -> None:
        await peer.accept()
        await asyncio.sleep(30)

    async def body() -> float:
        async with BrokerDouble(silent) as broker:
            sub = MqttSubscriber(settings(broker.port, keepalive=1), Sink())
            t0 = time.monotonic()
            await run_until(sub, lambda: len(broker.peers) >= 2, timeout=8)
            return time.monotonic() - t0

    took = asyncio.run(body())
    assert 1.4 < took < 2.6, took  # 1.5 s of silence, plus the reconnect delay


def test_qos2_from_a_broker_that_ignores_our_granted_qos_gets_the_handshake() -> None:
    """MQTT-4.3.3: PUBREC (after the readings are durable, via ack), then PUBCOMP for
    the PUBREL; counted as the broker's protocol violation."""
    seen: list[tuple[int, bytes]] = []

    async def script(peer: Peer) -> None:
        await peer.accept()
        await peer.send(publish(b"t/a", b"1", qos=2, pid=7) + publish(b"t/b", b"2", qos=1, pid=8))
        seen.append((codec.PUBREC, await peer.until(codec.PUBREC)))
        await peer.send(b"\x62\x02\x00\x07")  # PUBREL 7
        seen.append((codec.PUBCOMP, await peer.until(codec.PUBCOMP)))

    async def body() -> MqttSubscriber:
        async with BrokerDouble(script) as broker:
            sink = Sink()
            sub = MqttSubscriber(settings(broker.port), sink)
            await run_until(sub, lambda: len(seen) == 2)
            assert [p.payload for p in sink.got] == [b"1", b"2"]
            acks = [t for t, _ in broker.peers[0].received if t in (codec.PUBACK, codec.PUBREC)]
            assert acks == [codec.PUBREC, codec.PUBACK]  # each its own kind, in order
            return sub

    sub = asyncio.run(body())
    assert seen == [(codec.PUBREC, b"\x00\x07"), (codec.PUBCOMP, b"\x00\x07")]
    assert sub.stats.violations["qos2_above_granted"] == 1


def test_oversized_message_from_a_broker_that_ignores_our_maximum_is_skipped() -> None:
    """MQTT-3.1.2-24 says the broker must not send it; ejabberd did, and the session
    was poisoned (redelivered for ever). Now: reported, acknowledged, and the
    messages after it flow."""

    async def script(peer: Peer) -> None:
        await peer.accept()
        big = publish(b"t/big", b"[" + b"1," * 600_000 + b"1]", qos=1, pid=2)
        await peer.send(
            publish(b"t/a", b"1", qos=1, pid=1) + big + publish(b"t/b", b"2", qos=1, pid=3)
        )
        for _ in range(3):
            await peer.until(codec.PUBACK)

    async def body() -> tuple[Sink, MqttSubscriber, list[int]]:
        async with BrokerDouble(script) as broker:
            sink = Sink()
            sub = MqttSubscriber(settings(broker.port, max_packet_bytes=65_536), sink)
            await run_until(sub, lambda: len(sink.got) == 2)
            await asyncio.sleep(0.1)
            acked = [
                int.from_bytes(b[:2], "big")
                for t, b in broker.peers[0].received
                if t == codec.PUBACK
            ]
            return sink, sub, acked

    sink, sub, acked = asyncio.run(body())
    assert [p.payload for p in sink.got] == [b"1", b"2"]
    assert [(o.topic, o.packet_id) for o in sink.oversized] == [(b"t/big", 2)]
    assert sink.oversized[0].head.startswith(b"[1,1,")
    assert acked == [1, 2, 3] and sub.connects == 1  # one connection: not dropped


def test_auto_falls_back_to_311_on_return_code_1_and_says_so_once() -> None:
    """A 3.1.1 broker answers our MQTT 5 CONNECT with CONNACK 0x01 (MQTT-3.1.2-2)."""
    levels: list[int] = []

    async def v311_only(peer: Peer) -> None:
        _, connect = await peer.packet()
        levels.append(connect[6])
        if connect[6] != 4:
            await peer.send(b"\x20\x02\x00\x01")
            peer.writer.close()
            return
        await peer.send(b"\x20\x02\x00\x00")
        _, sub = await peer.packet()
        await peer.send(b"\x90\x03" + sub[:2] + b"\x01")
        await peer.send(publish(b"t/x", b"42", qos=1, pid=1, v5=False))

    async def body() -> Sink:
        async with BrokerDouble(v311_only) as broker:
            sink = Sink()
            sub = MqttSubscriber(settings(broker.port, protocol="auto"), sink)
            await run_until(sub, lambda: len(sink.got) == 1)
            assert sub.stats.protocol == "3.1.1"
            return sink

    with structlog.testing.capture_logs() as logs:
        sink = asyncio.run(body())
    assert levels == [5, 4]
    assert sink.got[0].payload == b"42"
    assert [e["event"] for e in logs].count("mqtt_protocol_fallback") == 1


def test_explicit_5_against_a_311_broker_names_the_fix() -> None:
    async def v311_only(peer: Peer) -> None:
        await peer.packet()
        await peer.send(b"\x20\x02\x00\x01")

    states: list[str] = []

    async def body() -> None:
        async with BrokerDouble(v311_only) as broker:
            sub = MqttSubscriber(
                settings(broker.port, protocol="5"), Sink(),
                on_state=lambda s, info: states.append(str(info.get("error"))),
            )  # fmt: skip
            await run_until(sub, lambda: len(states) >= 1)

    asyncio.run(body())
    assert "unacceptable protocol version (0x01)" in states[0]
    assert "mqtt.protocol: 3.1.1" in states[0]


def test_session_takeover_backs_off_and_is_reported_once() -> None:
    """DISCONNECT 0x8E after every CONNACK: without a backoff this is a reconnect
    every 0.05 s for ever."""

    async def taken_over(peer: Peer) -> None:
        await peer.accept()
        await asyncio.sleep(0.05)
        await peer.send(b"\xe0\x01\x8e")

    states: list[dict[str, object]] = []

    async def body() -> MqttSubscriber:
        async with BrokerDouble(taken_over) as broker:
            sub = MqttSubscriber(
                settings(broker.port, backoff_min=0.05, backoff_max=0.8), Sink(),
                on_state=lambda s, info: states.append({"state": s, **info}),
            )  # fmt: skip
            task = asyncio.create_task(sub.run())
            await asyncio.sleep(3.0)
            sub.stop()
            await task
            return sub

    with structlog.testing.capture_logs() as logs:
        sub = asyncio.run(body())
    # 0.05 s per loop without a backoff would be ~30 connections; with it, ~6-8
    assert 3 <= sub.connects <= 10, sub.connects
    assert sub.stats.takeovers >= 3 and sub.stats.flapping
    assert [e["event"] for e in logs].count("mqtt_session_flapping") == 1
    down = [s for s in states if s["state"] == "down"]
    assert all(s["taken_over"] for s in down)
    assert "session taken over (0x8e)" in str(down[0]["error"])


@pytest.mark.parametrize("field", ["session_expiry", "server_keep_alive", "maximum_qos"])
def test_broker_caps_are_logged_once_at_connect(field: str) -> None:
    props = {
        "session_expiry": b"\x11" + struct.pack("!I", 3600),
        "server_keep_alive": b"\x13" + struct.pack("!H", 20),
        "maximum_qos": b"\x24\x00",
    }[field]
    connack = b"\x20" + bytes([3 + len(props)]) + b"\x00\x00" + bytes([len(props)]) + props

    async def capped(peer: Peer) -> None:
        await peer.accept(connack)
        await asyncio.sleep(0.05)
        peer.writer.close()

    async def body() -> None:
        async with BrokerDouble(capped) as broker:
            sub = MqttSubscriber(settings(broker.port), Sink())
            await run_until(sub, lambda: sub.connects >= 3)

    with structlog.testing.capture_logs() as logs:
        asyncio.run(body())
    limits = [e for e in logs if e["event"] == "mqtt_broker_limits"]
    assert len(limits) == 1 and field in limits[0]


def test_broker_beyond_our_receive_maximum_is_counted() -> None:
    """MQTT-3.3.4-9: no more than Receive Maximum unacknowledged QoS 1 publishes; the
    client keeps reading (max_pending bounds memory) and counts the excess."""

    async def flood(peer: Peer) -> None:
        await peer.accept()
        await peer.send(b"".join(publish(b"t/x", b"%d" % i, 1, i + 1) for i in range(5)))

    async def body() -> tuple[Sink, MqttSubscriber]:
        async with BrokerDouble(flood) as broker:
            sink = Sink(ack=False)
            sub = MqttSubscriber(settings(broker.port, receive_maximum=2), sink)
            await run_until(sub, lambda: len(sink.got) == 5)
            return sink, sub

    _, sub = asyncio.run(body())
    assert sub.stats.violations == {"receive_maximum_exceeded": 3}


def test_refused_subscription_is_an_error_not_a_silent_idle_link() -> None:
    """MQTT-3.9.3: a SUBACK reason code >= 0x80 refuses that subscription."""

    async def refuse(peer: Peer) -> None:
        await peer.packet()
        await peer.send(b"\x20\x03\x00\x00\x00")
        _, sub = await peer.packet()
        await peer.send(b"\x90\x04" + sub[:2] + b"\x00\x87")  # not authorized

    errors: list[str] = []

    async def body() -> None:
        async with BrokerDouble(refuse) as broker:
            sub = MqttSubscriber(
                settings(broker.port), Sink(),
                on_state=lambda s, info: errors.append(str(info.get("error"))),
            )  # fmt: skip
            await run_until(sub, lambda: len(errors) >= 1)

    asyncio.run(body())
    assert "refused the subscription to ['t/#']" in errors[0]


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.binary(min_size=1, max_size=40),  # noise
            st.builds(  # well-formed publishes with odd topics, ids and payloads
                publish,
                st.binary(max_size=8),
                st.binary(max_size=16),
                st.integers(0, 2),
                st.integers(1, 65535),
            ),
            st.sampled_from(
                # PUBREL, PUBREL without its id, DISCONNECT 0x8E, PINGRESP, PUBACK,
                # a second CONNACK, a short one
                [
                    b"\x62\x02\x00\x07",
                    b"\x62\x00",
                    b"\xe0\x01\x8e",
                    b"\xd0\x00",
                    b"\x40\x02\x00\x01",
                    b"\x20\x03\x00\x00\x00",
                    b"\x20\x00",
                ]
            ),
        ),
        max_size=6,
    )
)
def test_fuzzed_packets_from_the_broker_never_kill_the_client(chunks: list[bytes]) -> None:
    """Whatever the broker sends after SUBACK (noise, odd publishes, control packets out
    of place), the client either handles it or drops that connection; the next
    connection still delivers, and the run task never ends by an exception."""

    async def fuzz(peer: Peer) -> None:
        await peer.accept()
        await peer.send(b"".join(chunks))
        await asyncio.sleep(0.05)
        peer.writer.close()

    async def sane(peer: Peer) -> None:
        await peer.accept()
        await peer.send(publish(b"t/ok", b"sentinel", qos=1, pid=1))

    async def body() -> tuple[Sink, bool]:
        async with BrokerDouble(fuzz, sane) as broker:
            sink = Sink()
            sub = MqttSubscriber(settings(broker.port, backoff_min=0.01, backoff_max=0.05), sink)
            task = asyncio.create_task(sub.run())
            try:
                await until(lambda: any(p.payload == b"sentinel" for p in sink.got), 10)
            finally:
                sub.stop()
                await asyncio.wait_for(task, 10)
            return sink, task.exception() is None

    sink, clean = asyncio.run(body())
    assert clean
    assert sink.got[-1].payload == b"sentinel"


def test_a_control_packet_with_a_bad_body_is_a_malformed_frame() -> None:
    """A PUBREL without its packet id: dropped as malformed by our handler (logged,
    reconnect), not by asyncio's 'protocol.data_received() call failed'."""

    async def bad_pubrel(peer: Peer) -> None:
        await peer.accept()
        await peer.send(b"\x62\x00")

    async def body() -> MqttSubscriber:
        async with BrokerDouble(bad_pubrel) as broker:
            sub = MqttSubscriber(settings(broker.port), Sink())
            await run_until(sub, lambda: sub.connects >= 2)
            return sub

    with structlog.testing.capture_logs() as logs:
        asyncio.run(body())
    frames = [e for e in logs if e["event"] == "mqtt_malformed_frame"]
    assert frames and "packet identifier" in frames[0]["error"]
