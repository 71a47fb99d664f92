"""The backlog of a persistent session, through a real mosquitto: every message published
while gatewatch was away is stored after it comes back, even when none carries a ts and
the whole backlog arrives within one millisecond (issue 15: 100 messages left 2 rows);
its readings are marked as backlog, a live message after it is not."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from gatewatch.core.assets import parse_assets
from gatewatch.core.reading import Reading
from gatewatch.sensors.decode import PayloadDecoder
from gatewatch.sensors.ingest import Ingest
from gatewatch.sensors.mqtt.client import MqttSettings, MqttSubscriber
from gatewatch.sensors.store.sqlite import SqliteStore
from gatewatch.sensors.topics import TopicPattern
from gatewatch.sensors.writer import StoreWriter
from servers import Mosquitto, publish_many

pytestmark = pytest.mark.slow
ASSETS = parse_assets("assets:\n  srv:\n    class: server_room\n", "assets.yaml")
CLIENT_ID = "backlog-gw"


async def session(
    broker: Mosquitto,
    store: SqliteStore,
    until_durable: int,
    seen: list[Reading],
    live: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
) -> Ingest:
    """One run of the subscriber with a persistent session: connect, take what comes until
    ``until_durable`` messages are durable, then publish ``live`` once the backlog window
    closed and take those too; disconnect (the session stays on the broker)."""
    decoder = PayloadDecoder([TopicPattern.parse("b/{site}/{asset}/{metric}")], ASSETS)
    ingest = Ingest(
        decoder,
        lambda cb: StoreWriter(store, cb),
        listeners=[lambda readings, _at: seen.extend(readings)],
    )
    settings = MqttSettings(port=broker.port, client_id=CLIENT_ID, subscriptions=(("b/+/+/+", 1),))
    sub = MqttSubscriber(settings, ingest)
    ingest.start()
    task = asyncio.create_task(sub.run())
    async with asyncio.timeout(30):
        while not sub.subscribed or ingest.stats.messages_durable < until_durable:
            await asyncio.sleep(0.01)
        if live:
            while ingest.in_backlog:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(publish_many, broker.port, list(live), qos=1)
            while ingest.stats.messages_durable < until_durable + len(live):
                await asyncio.sleep(0.01)
    await ingest.drain()
    sub.stop()
    await task
    ingest.stop()
    return ingest


def test_a_backlog_without_timestamps_is_stored_whole_and_in_order(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    store = SqliteStore(tmp_path / "r.db", tmp_path / "state.db")
    asyncio.run(session(mosquitto, store, 0, []))  # creates the session and subscription
    values = [float(i) for i in range(100)]
    publish_many(mosquitto.port, [("b/hq/srv/temp", b"%g" % v) for v in values], qos=1)
    seen: list[Reading] = []
    ingest = asyncio.run(session(mosquitto, store, 100, seen, [("b/hq/srv/temp", b"100")]))
    store.close()
    with sqlite3.connect(tmp_path / "r.db") as conn:
        rows = conn.execute("SELECT ts, value FROM readings ORDER BY ts").fetchall()
    assert len(rows) == 101, f"{len(rows)} rows stored of 101 acknowledged messages"
    assert [v for _, v in rows] == [*values, 100.0]  # arrival order is time order
    assert ingest.stats.readings_durable == 101
    assert [r.value for r in seen] == [*values, 100.0]
    # the backlog replayed at session resume is marked, the live message after it is not
    assert [r.backlog for r in seen] == [True] * 100 + [False]
    assert ingest.stats.backlog_readings == 100
