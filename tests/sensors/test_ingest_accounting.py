"""Nothing acknowledged is lost (issue 15): for any mix of payloads (with and without a
time, repeats, conflicts, garbage), every message the ingest stage acknowledges ends as
stored readings, counted duplicates of stored ones, or counted dead letters. Through the
real decoder, ingest, store writer and SQLite store; the broker side is a connection that
records the PUBACKs (the MQTT path is tested against mosquitto elsewhere)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from gatewatch.core.assets import parse_assets
from gatewatch.core.reading import Reading
from gatewatch.sensors.decode import PayloadDecoder
from gatewatch.sensors.ingest import Ingest
from gatewatch.sensors.mqtt.codec import Publish
from gatewatch.sensors.store.sqlite import SqliteStore
from gatewatch.sensors.topics import TopicPattern
from gatewatch.sensors.writer import StoreWriter
from hypothesis import given, settings
from hypothesis import strategies as st

T0 = 1_764_000_000.0
ASSETS = parse_assets(
    "assets:\n  srv:\n    class: server_room\n"
    "    metrics:\n      temp: {unit: C, min: -20, max: 80}\n",
    "assets.yaml",
)
TOPICS = ["b/hq/srv/temp", "b/hq/pump/vibration", "b/hq/srv"]
TIMES = [T0, T0 + 0.001, T0 + 0.0015]  # few, so that repeats are frequent
VALUES = [1.0, 2.0, 500.0]


class RecordingConnection:
    """What Ingest needs of an MQTT connection; records the PUBACKs it is asked to send."""

    def __init__(self, resumed: bool) -> None:
        self.acked: list[int] = []
        self.paused = False
        self.alive = True
        self.session_present = resumed
        # a wide broker window: batches form by batch_max and time, as the test wants
        self.unacked, self.peak_unacked = 0, 4096

    def ack(self, packet_ids: list[int]) -> None:
        self.acked.extend(packet_ids)

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False


def payload_of(kind: str, ts: float, value: float, junk: bytes) -> bytes:
    if kind == "plain":
        return b"%r" % value
    if kind == "value":
        return json.dumps({"value": value, "ts": ts}).encode()
    if kind == "value_no_ts":
        return json.dumps({"value": value}).encode()
    if kind == "metrics":
        return json.dumps({"ts": ts, "rms": value, "peak": value + 1}).encode()
    if kind == "senml":
        return json.dumps([{"n": "a", "v": value, "t": ts}, {"n": "b", "v": value}]).encode()
    return junk


messages = st.lists(
    st.tuples(
        st.sampled_from(TOPICS),
        st.sampled_from(["plain", "value", "value_no_ts", "metrics", "senml", "junk"]),
        st.sampled_from(TIMES),
        st.sampled_from(VALUES),
        st.binary(max_size=12),
    ),
    min_size=15,
    max_size=60,
)


def clock(step: float) -> Iterator[float]:
    now = T0 + 2
    while True:
        yield now
        now += step


async def ingest_all(
    store: SqliteStore, pubs: list[Publish], step: float, resumed: bool
) -> tuple[Ingest, list[Reading]]:
    seen: list[Reading] = []
    decoder = PayloadDecoder([TopicPattern.parse("b/{site}/{asset}/{metric}")], ASSETS)
    ticks = clock(step)
    ingest = Ingest(
        decoder,
        lambda cb: StoreWriter(store, cb),
        batch_max=7,
        clock=lambda: next(ticks),
        listeners=[lambda readings, _at: seen.extend(readings)],
    )
    conn = RecordingConnection(resumed)
    ingest.start()
    ingest.on_connection(conn)  # type: ignore[arg-type]
    for i, pub in enumerate(pubs):
        ingest.on_publish(pub, conn)  # type: ignore[arg-type]
        if i % 5 == 4:
            await asyncio.sleep(0)  # let batches of several sizes form
    await ingest.drain()
    ingest.stop()
    assert sorted(conn.acked) == [p.packet_id for p in pubs]  # each acknowledged once
    return ingest, seen


@settings(max_examples=60, deadline=None)
@given(msgs=messages, step=st.sampled_from([0.0, 0.0002, 0.01]), resumed=st.booleans())
def test_every_acknowledged_message_is_stored_or_dead_lettered_and_counted(
    msgs: list[tuple[str, str, float, float, bytes]], step: float, resumed: bool
) -> None:
    pubs = [
        Publish(topic.encode(), payload_of(kind, ts, v, junk), 1, i + 1, False, False)
        for i, (topic, kind, ts, v, junk) in enumerate(msgs)
    ]
    # what the decoder alone makes of them, at the same receive times
    reference = PayloadDecoder([TopicPattern.parse("b/{site}/{asset}/{metric}")], ASSETS)
    ticks = clock(step)
    decoded = [reference.decode(p.topic, p.payload, next(ticks)) for p in pubs]
    readings = [r for d in decoded for r in d.readings]
    refused = Counter(rej.reason for d in decoded for rej in d.rejections)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "r.db", Path(tmp) / "s.db")
        ingest, seen = asyncio.run(ingest_all(store, pubs, step, resumed))
        store.close()
        with sqlite3.connect(Path(tmp) / "r.db") as conn:
            conn.execute("ATTACH DATABASE ? AS state", (str(Path(tmp) / "s.db"),))
            rows = conn.execute(
                "SELECT s.site || '/' || s.asset || '/' || s.metric, r.ts, r.value"
                " FROM readings r JOIN series s ON s.id = r.series_id"
            ).fetchall()
            letters = conn.execute("SELECT reason, payload FROM state.dead_letters").fetchall()
    stats = ingest.stats
    conflicts = stats.dead_letters["conflict"]
    # every decoded reading is stored, a duplicate of a stored one, or a conflict
    assert stats.readings_durable + stats.duplicates + conflicts == len(readings)
    assert len(rows) == stats.readings_durable == len(seen)
    # the later stages (rules, anomaly) see what the store holds, at the times it holds
    assert sorted((str(r.key), round(r.ts * 1000), r.value) for r in seen) == sorted(rows)
    # every refusal and every conflict is a dead letter, counted by reason
    assert Counter(reason for reason, _ in letters) == refused + Counter({"conflict": conflicts})
    assert stats.dead_letters == refused + Counter({"conflict": conflicts})
    # readings without a payload time all stay; only timed ones can repeat
    held = Counter((series, value) for series, _, value in rows)
    untimed = Counter((str(r.key), r.value) for r in readings if r.received)
    assert not untimed - held
    # in a resumed session's backlog (here: all of it) those are marked
    assert stats.backlog_readings == (sum(untimed.values()) if resumed else 0)
    assert all(r.backlog == (resumed and r.received) for r in seen)
    assert stats.duplicates + conflicts <= sum(1 for r in readings if not r.received)
    # a conflict's series and time hold another value
    by_key = {(series, ts): value for series, ts, value in rows}
    for reason, payload in letters:
        if reason == "conflict":
            c = json.loads(payload)
            assert by_key[(c["series"], round(c["ts"] * 1000))] != c["value"]
