"""The ingest stage: MQTT publishes -> decoded readings -> durable batches -> PUBACK.

Runs on the event loop. A message counts as received only once the store
writer has committed it; then its PUBACK is sent (at-least-once). Memory is
bounded: when more than ``max_pending`` messages wait for the store, reading
from the broker socket pauses (TCP backpressure; for QoS 1 the broker's
Receive Maximum window bounds it as well) and resumes below half of that.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog
from gatewatch.core.reading import Reading
from gatewatch.sensors.decode import Decoded, PayloadDecoder, Rejection
from gatewatch.sensors.mqtt.client import Connection
from gatewatch.sensors.mqtt.codec import Publish
from gatewatch.sensors.ratelimit import RateLimiter
from gatewatch.sensors.store.base import DeadLetter
from gatewatch.sensors.store.journal import JournalCursor
from gatewatch.sensors.writer import Batch, StoreWriter

log = structlog.get_logger("gatewatch.ingest")
PAYLOAD_KEEP = 512  # bytes of a refused payload kept in the dead-letter table

ReadingsListener = Callable[[list[Reading], float], None]


@dataclass
class IngestStats:
    messages: int = 0
    readings_durable: int = 0
    messages_durable: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    pauses: int = 0
    pending: int = 0


class Ingest:
    def __init__(
        self,
        decoder: PayloadDecoder,
        store_writer_factory: Callable[[Callable[[list[Batch]], None]], StoreWriter],
        *,
        batch_max: int = 1000,
        batch_delay: float = 0.005,
        max_pending: int = 20_000,
        listeners: Sequence[ReadingsListener] = (),  # each durable batch, in commit order
        cursor: JournalCursor | None = None,  # moved to each batch before its listeners
        clock: Callable[[], float] = time.time,
        log_interval: float = 60.0,
    ) -> None:
        self.decoder = decoder
        self.batch_max = batch_max
        self.batch_delay = batch_delay
        self.max_pending = max_pending
        self.clock = clock
        self.stats = IngestStats()
        self.listeners = tuple(listeners)
        self.cursor = cursor
        self._limiter = RateLimiter(log_interval)
        self._batch = Batch()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: Connection | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.writer = store_writer_factory(self._durable_from_thread)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.writer.start()

    # PublishSink
    def on_connection(self, conn: Connection) -> None:
        self.flush()  # a batch never spans two connections
        self._conn = conn
        if self.stats.pending >= self.max_pending:
            conn.pause()

    def on_publish(self, pub: Publish, conn: Connection) -> None:
        now = self.clock()
        try:
            decoded = self.decoder.decode(pub.topic, pub.payload, now)
        except Exception as exc:  # a decoder bug must not stop ingest or lose the message
            log.exception("decoder_bug", topic=pub.topic[:200])
            decoded = Decoded([], [Rejection("undecodable", f"decoder error: {exc!r}"[:200])])
        batch = self._batch
        batch.messages += 1
        if decoded.readings:
            batch.readings.extend(decoded.readings)
        if decoded.rejections:
            self._reject(pub, decoded.rejections, now)
        if pub.qos:
            batch.acks.append(pub.packet_id)
        batch.connection = conn
        self.stats.messages += 1
        if batch.messages >= self.batch_max:
            self.flush()
        elif self._timer is None:
            assert self._loop is not None
            self._timer = self._loop.call_later(self.batch_delay, self.flush)

    def _reject(self, pub: Publish, rejections: list[Rejection], now: float) -> None:
        topic = pub.topic.decode("utf-8", "backslashreplace")
        payload = pub.payload[:PAYLOAD_KEEP]
        for rej in rejections:
            self.stats.dead_letters[rej.reason] += 1
            detail = f"{rej.metric}: {rej.detail}" if rej.metric else rej.detail
            self._batch.dead.append(DeadLetter(now, topic, payload, rej.reason, detail))
            suppressed = self._limiter.allow((topic, rej.reason), now)
            if suppressed is not None:
                log.warning(
                    "payload_rejected",
                    topic=topic,
                    reason=rej.reason,
                    detail=detail,
                    payload=payload[:80].decode("utf-8", "backslashreplace"),
                    suppressed_since_last=suppressed,
                )

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch = self._batch
        if not batch.messages:
            return
        self._batch = Batch()
        self.stats.pending += batch.messages
        self._idle.clear()
        if self.stats.pending >= self.max_pending and batch.connection is not None:
            self.stats.pauses += 1
            batch.connection.pause()
        self.writer.submit(batch)

    def _durable_from_thread(self, group: list[Batch]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._durable, group)

    def _durable(self, group: list[Batch]) -> None:
        for batch in group:
            conn = batch.connection
            if batch.acks and conn is not None:
                conn.ack(batch.acks)  # a dead connection drops them: the broker redelivers
            self.stats.pending -= batch.messages
            self.stats.messages_durable += batch.messages
            self.stats.readings_durable += len(batch.readings)
            if self.cursor is not None and batch.position is not None:
                self.cursor.at = batch.position
            for listener in self.listeners:
                try:
                    listener(batch.readings, batch.durable_at)
                except Exception:  # a later stage's bug must not stop acks or ingest
                    log.exception("listener_failed", listener=repr(listener))
        if self.stats.pending == 0:
            self._idle.set()
        conn = self._conn
        if conn is not None and conn.paused and self.stats.pending < self.max_pending // 2:
            conn.resume()

    async def drain(self) -> None:
        """Flush the open batch and wait until everything is durable and acknowledged."""
        self.flush()
        await self._idle.wait()

    def stop(self) -> None:
        self.writer.stop()
