"""The ingest stage against a real broker: dead letters are durable and counted;
a slow store slows ingest down (backpressure) instead of growing memory."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from gatewatch.core.assets import parse_assets
from gatewatch.core.reading import Reading
from gatewatch.sensors.decode import PayloadDecoder
from gatewatch.sensors.ingest import PAYLOAD_KEEP, Ingest
from gatewatch.sensors.mqtt.client import MqttSubscriber
from gatewatch.sensors.mqtt.settings import MqttSettings
from gatewatch.sensors.store.base import DeadLetter, WriteResult
from gatewatch.sensors.store.sqlite import SqliteStore, count_dead_letters
from gatewatch.sensors.topics import TopicPattern
from gatewatch.sensors.writer import StoreWriter
from servers import Mosquitto, publish_many

pytestmark = pytest.mark.slow
ASSETS = parse_assets(
    "assets:\n  srv:\n    class: server_room\n"
    "    metrics:\n      temp: {unit: C, min: -20, max: 80}\n",
    "assets.yaml",
)


class SlowStore(SqliteStore):
    """The real store, made slow: each commit takes ``delay`` seconds longer."""

    delay = 0.0

    def write(self, readings: Sequence[Reading], dead: Sequence[DeadLetter]) -> WriteResult:
        time.sleep(self.delay)
        return super().write(readings, dead)


async def run_ingest(
    broker: Mosquitto,
    store: SqliteStore,
    publish: list[tuple[str, bytes]],
    qos: int,
    *,
    max_pending: int = 20_000,
    expect: int | None = None,
) -> Ingest:
    decoder = PayloadDecoder([TopicPattern.parse("b/{site}/{asset}/{metric}")], ASSETS)
    ingest = Ingest(
        decoder, lambda cb: StoreWriter(store, cb), batch_max=200, max_pending=max_pending
    )
    settings = MqttSettings(
        port=broker.port,
        client_id=f"ingest-q{qos}",
        subscriptions=(("b/+/+/+", qos),),
        receive_maximum=1000,
    )
    sub = MqttSubscriber(settings, ingest)
    ingest.start()
    task = asyncio.create_task(sub.run())
    async with asyncio.timeout(15):
        while not (sub.subscribed and sub.connection is not None and sub.connection.alive):
            await asyncio.sleep(0.02)
    peak = 0
    pub = threading.Thread(target=publish_many, args=(broker.port, publish), kwargs={"qos": qos})
    pub.start()
    async with asyncio.timeout(120):
        while pub.is_alive() or ingest.stats.messages_durable < (expect or len(publish)):
            peak = max(peak, ingest.stats.pending)
            await asyncio.sleep(0.005)
    await ingest.drain()
    sub.stop()
    await task
    ingest.stop()
    ingest.peak_pending = peak  # type: ignore[attr-defined]
    return ingest


def test_bad_payloads_are_dead_lettered_durably_with_topic_reason_and_truncated_payload(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    store = SqliteStore(tmp_path / "r.db", tmp_path / "state.db")
    msgs = [
        ("b/hq/srv/temp", b"21.5"),
        ("b/hq/srv/temp", b"hot"),
        ("b/hq/srv/temp", b"500"),
        ("b/hq/srv/temp", b"\xff" * 2000),
        ("b/hq/srv", b"1"),
        ("b/hq/srv/temp", b"nan"),
    ]
    ingest = asyncio.run(run_ingest(mosquitto, store, msgs, qos=1, expect=5))
    store.close()
    conn = sqlite3.connect(tmp_path / "r.db")
    conn.execute("ATTACH DATABASE ? AS state", (str(tmp_path / "state.db"),))
    counts = count_dead_letters(conn)
    # b/hq/srv does not match the 4-segment subscription, so the broker never sends it
    assert counts == {"not_a_number": 1, "out_of_range": 1, "bad_utf8": 1, "non_finite": 1}
    assert dict(ingest.stats.dead_letters) == counts
    topic, payload = conn.execute(
        "SELECT topic, payload FROM state.dead_letters WHERE reason = 'bad_utf8'"
    ).fetchone()
    assert topic == "b/hq/srv/temp" and len(payload) == PAYLOAD_KEEP
    assert conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == 1


@pytest.mark.parametrize("qos", [0, 1])
def test_slow_store_pauses_ingest_and_loses_nothing(
    mosquitto: Mosquitto, tmp_path: Path, qos: int
) -> None:
    store = SlowStore(tmp_path / "r.db", tmp_path / "state.db")
    store.delay = 0.05
    msgs = [
        ("b/hq/srv/temp", b'{"value": %d, "ts": %d}' % (i % 50, 1_764_000_000 + i))
        for i in range(6000)
    ]
    ingest = asyncio.run(run_ingest(mosquitto, store, msgs, qos=qos, max_pending=500))
    store.close()
    peak = ingest.peak_pending  # type: ignore[attr-defined]
    assert ingest.stats.pauses > 0
    assert peak <= 500 + 200, f"pending grew to {peak}"  # max_pending + batch_max
    with sqlite3.connect(tmp_path / "r.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == 6000
