"""Ingest behind brokers that misbehave or throttle (ejabberd did both).

An oversized message from a broker that ignores our Maximum Packet Size is
dead-lettered durably with topic, size and first bytes, acknowledged after the
commit, and the readings after it stored; before, it poisoned the session. A
broker with a window of one message is acknowledged without batch_delay."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from gatewatch.core.assets import parse_assets
from gatewatch.sensors.decode import PayloadDecoder
from gatewatch.sensors.ingest import Ingest
from gatewatch.sensors.mqtt import codec
from gatewatch.sensors.mqtt.client import MqttSubscriber
from gatewatch.sensors.mqtt.settings import MqttSettings
from gatewatch.sensors.store.sqlite import SqliteStore
from gatewatch.sensors.topics import TopicPattern
from gatewatch.sensors.writer import StoreWriter
from mqtt_broker_double import BrokerDouble, Peer, publish

ASSETS = parse_assets(
    "assets:\n  srv:\n    class: server_room\n    metrics:\n      temp: {unit: C}\n", "assets.yaml"
)


def test_oversized_message_is_dead_lettered_acknowledged_and_ingest_goes_on(
    tmp_path: Path,
) -> None:
    acked: list[int] = []

    async def script(peer: Peer) -> None:
        await peer.accept()
        big = publish(b"b/hq/srv/temp", b"9" * 3_000_000, qos=1, pid=2)
        await peer.send(
            publish(b"b/hq/srv/temp", b"21.5", qos=1, pid=1)
            + big
            + publish(b"b/hq/srv/temp", b"22.5", qos=1, pid=3)
        )
        for _ in range(3):
            acked.append(int.from_bytes((await peer.until(codec.PUBACK))[:2], "big"))

    store = SqliteStore(tmp_path / "r.db", tmp_path / "state.db")

    async def body() -> Ingest:
        decoder = PayloadDecoder([TopicPattern.parse("b/{site}/{asset}/{metric}")], ASSETS)
        ingest = Ingest(decoder, lambda cb: StoreWriter(store, cb))
        async with BrokerDouble(script) as broker:
            settings = MqttSettings(
                port=broker.port, client_id="gw-big", subscriptions=(("b/#", 1),),
                max_packet_bytes=65_536,
            )  # fmt: skip
            sub = MqttSubscriber(settings, ingest)
            ingest.start()
            task = asyncio.create_task(sub.run())
            async with asyncio.timeout(15):
                while len(acked) < 3:
                    await asyncio.sleep(0.01)
            await ingest.drain()
            sub.stop()
            await task
            ingest.stop()
        return ingest

    ingest = asyncio.run(body())
    store.close()
    assert acked == [1, 2, 3]
    assert ingest.stats.dead_letters == {"too_large": 1}
    conn = sqlite3.connect(tmp_path / "r.db")
    conn.execute("ATTACH DATABASE ? AS state", (str(tmp_path / "state.db"),))
    assert sorted(v for (v,) in conn.execute("SELECT value FROM readings")) == [21.5, 22.5]
    topic, payload, reason, detail = conn.execute(
        "SELECT topic, payload, reason, detail FROM state.dead_letters"
    ).fetchone()
    assert (topic, reason) == ("b/hq/srv/temp", "too_large")
    assert payload == b"9" * codec.OVERSIZED_HEAD
    size = 3_000_000 + 2 + len(b"b/hq/srv/temp") + 2 + 1  # payload, topic, packet id, props
    assert f"{size} bytes" in detail and "mqtt.max_packet_bytes 65536" in detail


def test_window_one_broker_is_acknowledged_without_waiting_for_batch_delay(
    tmp_path: Path,
) -> None:
    """A broker that sends the next message only after our PUBACK (ejabberd) was
    drained at one message per batch_delay; with batch_delay 10 s, 20 messages now
    pass in well under a second, each committed before its ack."""
    acked: list[int] = []

    async def one_at_a_time(peer: Peer) -> None:
        await peer.accept()
        for pid in range(1, 21):
            await peer.send(publish(b"b/hq/srv/temp", b"%d" % pid, qos=1, pid=pid))
            acked.append(int.from_bytes((await peer.until(codec.PUBACK))[:2], "big"))

    store = SqliteStore(tmp_path / "r.db", tmp_path / "state.db")

    async def body() -> float:
        decoder = PayloadDecoder([TopicPattern.parse("b/{site}/{asset}/{metric}")], ASSETS)
        ingest = Ingest(decoder, lambda cb: StoreWriter(store, cb), batch_delay=10.0)
        async with BrokerDouble(one_at_a_time) as broker:
            settings = MqttSettings(
                port=broker.port, client_id="gw-w1", subscriptions=(("b/#", 1),)
            )
            sub = MqttSubscriber(settings, ingest)
            ingest.start()
            task = asyncio.create_task(sub.run())
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            async with asyncio.timeout(8):
                while len(acked) < 20:
                    await asyncio.sleep(0.005)
            took = loop.time() - t0
            sub.stop()
            await task
            ingest.stop()
        return took

    took = asyncio.run(body())
    store.close()
    assert acked == list(range(1, 21))
    assert took < 5.0, took  # one batch_delay would be 10 s, twenty 200 s
    conn = sqlite3.connect(tmp_path / "r.db")
    assert conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == 20
