"""Ingest behind brokers that misbehave or throttle (ejabberd did both).

An oversized message from a broker that ignores our Maximum Packet Size is
dead-lettered durably with topic, size and first bytes, acknowledged after the
commit, and the readings after it stored; before, it poisoned the session. A
broker with a window of one message is acknowledged without batch_delay."""

from __future__ import annotations

import asyncio
import sqlite3
import time
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
from mqtt_broker_double import BrokerDouble, Peer, Script, publish

ASSETS = parse_assets(
    "assets:\n  srv:\n    class: server_room\n    metrics:\n      temp: {unit: C}\n", "assets.yaml"
)


async def ingest_behind(
    script: Script, store: SqliteStore, acked: list[int], want: int, **ingest_kw: float
) -> tuple[Ingest, float]:
    """The real Ingest and store behind a scripted broker, until ``want`` PUBACKs:
    (the ingest, seconds it took)."""
    decoder = PayloadDecoder([TopicPattern.parse("b/{site}/{asset}/{metric}")], ASSETS)
    ingest = Ingest(decoder, lambda cb: StoreWriter(store, cb), **ingest_kw)  # type: ignore[arg-type]
    async with BrokerDouble(script) as broker:
        settings = MqttSettings(
            port=broker.port, client_id="gw-quirks", subscriptions=(("b/#", 1),),
            max_packet_bytes=65_536,
        )  # fmt: skip
        sub = MqttSubscriber(settings, ingest)
        ingest.start()
        task = asyncio.create_task(sub.run())
        t0 = time.monotonic()
        async with asyncio.timeout(15):
            while len(acked) < want:
                await asyncio.sleep(0.005)
        took = time.monotonic() - t0
        await ingest.drain()
        sub.stop()
        await task
        ingest.stop()
    return ingest, took


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

    ingest, _ = asyncio.run(ingest_behind(script, store, acked, 3))
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

    _, took = asyncio.run(ingest_behind(one_at_a_time, store, acked, 20, batch_delay=10.0))
    store.close()
    assert acked == list(range(1, 21))
    assert took < 5.0, took  # one batch_delay would be 10 s, twenty 200 s
    conn = sqlite3.connect(tmp_path / "r.db")
    assert conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == 20
