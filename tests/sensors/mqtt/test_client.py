"""The MQTT client against a real mosquitto: TLS, auth, persistent session,
QoS 0/1, keepalive, reconnect; malformed frames against a socket we control."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from gatewatch.sensors.mqtt import codec
from gatewatch.sensors.mqtt.client import MqttSubscriber
from gatewatch.sensors.mqtt.connection import Connection
from gatewatch.sensors.mqtt.settings import MqttSettings
from servers import Mosquitto, publish_many

pytestmark = pytest.mark.slow


class Collect:
    """A sink that acknowledges at once (the real one acks after the commit)."""

    def __init__(self, ack: bool = True) -> None:
        self.ack = ack
        self.got: list[codec.Publish] = []
        self.connections = 0

    def on_connection(self, conn: Connection) -> None:
        self.connections += 1

    def on_publish(self, pub: codec.Publish, conn: Connection) -> None:
        self.got.append(pub)
        if self.ack and pub.qos:
            conn.ack([pub.packet_id])


async def until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def with_subscriber(
    settings: MqttSettings, sink: Collect, body: Callable[[MqttSubscriber], Awaitable[None]]
) -> None:
    sub = MqttSubscriber(settings, sink)
    task = asyncio.create_task(sub.run())
    try:
        await body(sub)
    finally:
        sub.stop()
        await asyncio.wait_for(task, 10)


def settings_for(broker: Mosquitto, **kw: object) -> MqttSettings:
    base: dict[str, object] = {
        "port": broker.port,
        "client_id": "gw-test",
        "subscriptions": (("t/#", 1),),
        "backoff_min": 0.05,
        "backoff_max": 0.5,
    }
    base.update(kw)
    return MqttSettings(**base)  # type: ignore[arg-type]


def test_persistent_session_delivers_what_was_published_while_away(mosquitto: Mosquitto) -> None:
    sink = Collect()

    async def first(sub: MqttSubscriber) -> None:
        await until(lambda: sub.subscribed and bool(sub.connection and sub.connection.alive))

    asyncio.run(with_subscriber(settings_for(mosquitto), sink, first))
    publish_many(mosquitto.port, [(f"t/{i}", b"%d" % i) for i in range(300)])
    publish_many(mosquitto.port, [("t/q0", b"lost")], qos=0)

    async def second(sub: MqttSubscriber) -> None:
        await until(lambda: len(sink.got) >= 300)
        await asyncio.sleep(0.3)

    asyncio.run(with_subscriber(settings_for(mosquitto), sink, second))
    assert sorted(int(p.payload) for p in sink.got) == list(range(300))
    assert all(p.qos == 1 for p in sink.got)


def test_unacknowledged_messages_are_redelivered_after_reconnect(mosquitto: Mosquitto) -> None:
    silent = Collect(ack=False)

    async def receive_without_ack(sub: MqttSubscriber) -> None:
        await until(lambda: sub.subscribed and bool(sub.connection and sub.connection.alive))
        await asyncio.to_thread(publish_many, mosquitto.port, [("t/x", b"1"), ("t/y", b"2")])
        await until(lambda: len(silent.got) == 2)
        assert sub.connection is not None
        sub.connection.abort(RuntimeError("simulated crash before the store commit"))

    asyncio.run(with_subscriber(settings_for(mosquitto), silent, receive_without_ack))
    again = Collect()

    async def receive_again(sub: MqttSubscriber) -> None:
        await until(lambda: len(again.got) == 2)

    asyncio.run(with_subscriber(settings_for(mosquitto), again, receive_again))
    assert sorted(p.payload for p in again.got) == [b"1", b"2"]


def test_qos0_subscription_and_keepalive_over_idle_time(mosquitto: Mosquitto) -> None:
    sink = Collect()

    async def body(sub: MqttSubscriber) -> None:
        await until(lambda: sub.subscribed and bool(sub.connection and sub.connection.alive))
        await asyncio.sleep(3.5)  # > 1.5 x keepalive: only pings keep the link up
        assert sub.connects == 1
        await asyncio.to_thread(publish_many, mosquitto.port, [("t/a", b"x")], qos=0)
        await until(lambda: len(sink.got) == 1)

    s = settings_for(mosquitto, keepalive=2, subscriptions=(("t/#", 0),), clean_start=True)
    asyncio.run(with_subscriber(s, sink, body))
    assert sink.got[0].qos == 0


def test_reconnects_after_broker_restart(mosquitto: Mosquitto) -> None:
    sink = Collect()

    async def body(sub: MqttSubscriber) -> None:
        await until(lambda: sub.subscribed and bool(sub.connection and sub.connection.alive))
        await asyncio.to_thread(mosquitto.restart)
        await until(
            lambda: sub.connects >= 2 and sub.connection is not None and sub.connection.alive
        )
        await asyncio.to_thread(publish_many, mosquitto.port, [("t/after", b"ok")])
        await until(lambda: len(sink.got) == 1)

    asyncio.run(with_subscriber(settings_for(mosquitto), sink, body))
    assert sink.got[0].payload == b"ok"


@pytest.fixture
def auth_broker(tmp_path: Path) -> Mosquitto:
    work = tmp_path / "auth"
    work.mkdir()
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(work / "passwd"), "gw", "pa55"], check=True)
    broker = Mosquitto(work, anonymous=False, extra=f"password_file {work / 'passwd'}\n")
    return broker.start()


def test_username_password(auth_broker: Mosquitto) -> None:
    sink = Collect()

    async def ok(sub: MqttSubscriber) -> None:
        await until(lambda: sub.subscribed and bool(sub.connection and sub.connection.alive))

    good = settings_for(auth_broker, username="gw", password=b"pa55")
    asyncio.run(with_subscriber(good, sink, ok))
    states: list[str] = []

    async def refused() -> None:
        sub = MqttSubscriber(
            settings_for(auth_broker, username="gw", password=b"wrong"),
            sink,
            on_state=lambda s, info: states.append(f"{s}:{info.get('error')}"),
        )
        task = asyncio.create_task(sub.run())
        await until(lambda: len(states) >= 2)
        sub.stop()
        await task

    asyncio.run(refused())
    auth_broker.stop()
    assert "bad user name or password" in states[0] or "not authorized" in states[0]
    assert "pa55" not in repr(good) and "wrong" not in "".join(states)


@pytest.fixture
def tls_broker(tmp_path: Path) -> tuple[Mosquitto, Path]:
    work = tmp_path / "tls"
    work.mkdir()

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=work)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    )
    (work / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    )
    extra = f"cafile {work}/ca.pem\ncertfile {work}/server.pem\nkeyfile {work}/server.key\n"
    broker = Mosquitto(work, extra=extra)
    return broker.start(), work / "ca.pem"


def test_tls_with_certificate_verification(tls_broker: tuple[Mosquitto, Path]) -> None:
    broker, ca = tls_broker
    sink = Collect()

    async def body(sub: MqttSubscriber) -> None:
        await until(lambda: sub.subscribed and bool(sub.connection and sub.connection.alive))

    ctx = ssl.create_default_context(cafile=str(ca))
    asyncio.run(with_subscriber(settings_for(broker, tls=ctx), sink, body))
    errors: list[str] = []

    async def untrusted() -> None:
        sub = MqttSubscriber(
            settings_for(broker, tls=ssl.create_default_context()),
            sink,
            on_state=lambda s, info: errors.append(str(info.get("error"))),
        )
        task = asyncio.create_task(sub.run())
        await until(lambda: len(errors) >= 1)
        sub.stop()
        await task

    asyncio.run(untrusted())
    broker.stop()
    assert sink.connections == 1
    assert "CERTIFICATE_VERIFY_FAILED" in errors[0]


def test_malformed_frame_drops_the_connection_and_reconnects() -> None:
    """A socket we control plays a broker that sends garbage after CONNACK."""
    connects: list[int] = []

    async def body() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connects.append(1)
            await reader.read(1024)  # CONNECT
            writer.write(b"\x20\x03\x00\x00\x00")  # CONNACK success
            await reader.read(1024)  # SUBSCRIBE
            writer.write(b"\x90\x04\x00\x01\x00\x01")  # SUBACK
            writer.write(b"\x36\x05\x00\x01a\x00\x01")  # PUBLISH with QoS 3: malformed
            await writer.drain()
            await reader.read(1024)
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        sink = Collect()
        s = MqttSettings(port=port, client_id="x", backoff_min=0.05, backoff_max=0.1)
        sub = MqttSubscriber(s, sink)
        task = asyncio.create_task(sub.run())
        await until(lambda: len(connects) >= 3)
        sub.stop()
        await task
        server.close()
        assert sink.got == []

    asyncio.run(body())
