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
from gatewatch.sensors.arrival import ArrivalOrder
from gatewatch.sensors.backlog import BacklogReport, BacklogWindow
from gatewatch.sensors.decode import Decoded, PayloadDecoder, Rejection
from gatewatch.sensors.mqtt.codec import Oversized, Publish
from gatewatch.sensors.mqtt.connection import Connection
from gatewatch.sensors.ratelimit import RateLimiter
from gatewatch.sensors.store.base import DeadLetter
from gatewatch.sensors.store.journal import JournalCursor
from gatewatch.sensors.writer import Batch, StoreWriter

log = structlog.get_logger("gatewatch.ingest")
SMALL_WINDOW = 64  # a broker window up to this many messages is acked without batch_delay
PAYLOAD_KEEP = 512  # bytes of a refused payload kept in the dead-letter table

ReadingsListener = Callable[[list[Reading], float], None]


@dataclass
class IngestStats:
    messages: int = 0
    readings_durable: int = 0
    messages_durable: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)  # "conflict" from the store
    duplicates: int = 0  # readings the store already held, same value (kept once)
    backlog_readings: int = 0  # readings without a payload time in a resumed session's backlog
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
        self._arrival = ArrivalOrder()
        self._window = BacklogWindow()
        self._window_timer: asyncio.TimerHandle | None = None
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
        if conn.session_present:  # the broker replays what it queued for us first
            self._window.open(self.clock())
            self._check_backlog()
        else:
            self._backlog_closed(self._window.close(self.clock()))

    def on_publish(self, pub: Publish, conn: Connection) -> None:
        now = self.clock()
        try:
            decoded = self.decoder.decode(pub.topic, pub.payload, now)
        except Exception as exc:  # a decoder bug must not stop ingest or lose the message
            log.exception("decoder_bug", topic=pub.topic[:200])
            decoded = Decoded([], [Rejection("undecodable", f"decoder error: {exc!r}"[:200])])
        batch = self._batch
        batch.messages += 1
        readings = decoded.readings
        backlog = self._window.active
        for r in readings:
            if r.received:  # no payload time: receive time, in arrival order
                readings = self._arrival.order(readings, backlog)
                break
        if backlog:
            marked = sum(1 for r in readings if r.backlog)
            self.stats.backlog_readings += marked
            self._window.saw(now, marked)
        if readings:
            batch.readings.extend(readings)
        if decoded.rejections:
            self._reject(pub, decoded.rejections, now)
        if pub.qos:
            batch.acks.append(pub.packet_id)
        batch.connection = conn
        self.stats.messages += 1
        if batch.messages >= self.batch_max or (
            pub.qos
            and conn.unacked >= conn.peak_unacked
            and conn.peak_unacked <= SMALL_WINDOW
            and not self.stats.pending
        ):
            # the second case: a broker with a small window (1 on ejabberd, 20 on a 3.1.1
            # mosquitto) holds as many messages unacknowledged as it ever has on this
            # connection, and the writer is idle: it waits for our acks, so commit now
            # rather than after batch_delay (bench ingest --receive-maximum 1: 165 -> 2700/s)
            self.flush()
        elif self._timer is None:
            assert self._loop is not None
            self._timer = self._loop.call_later(self.batch_delay, self.flush)

    def on_oversized(self, pkt: Oversized, conn: Connection) -> None:
        """A message over mqtt.max_packet_bytes: dead-lettered with its first bytes and
        acknowledged, so the broker does not redeliver it on every reconnect."""
        now = self.clock()
        limit = conn.decoder.max_packet
        rejection = Rejection(
            "too_large",
            f"MQTT packet of {pkt.size} bytes exceeds mqtt.max_packet_bytes {limit}: "
            "raise it, or make the device send smaller messages",
        )
        self._reject(
            Publish(pkt.topic, pkt.head, pkt.qos, pkt.packet_id, False, False), [rejection], now
        )
        batch = self._batch
        batch.messages += 1
        if pkt.qos:
            batch.acks.append(pkt.packet_id)
        batch.connection = conn
        self.stats.messages += 1
        self.flush()

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
            if batch.duplicates or batch.conflicts:
                self._not_stored(batch)
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

    def _not_stored(self, batch: Batch) -> None:
        self.stats.duplicates += batch.duplicates
        if batch.conflicts:
            self.stats.dead_letters["conflict"] += batch.conflicts
        key = ("store", "conflict" if batch.conflicts else "duplicate")
        suppressed = self._limiter.allow(key, batch.durable_at)
        if suppressed is not None:
            (log.warning if batch.conflicts else log.info)(
                "readings_not_stored",
                duplicates=batch.duplicates,
                conflicts=batch.conflicts,
                note="conflicts are dead letters (reason conflict), duplicates were stored before",
                suppressed_since_last=suppressed,
            )

    def _check_backlog(self) -> None:
        self._window_timer = None
        idle = self.stats.pending == 0 and not self._batch.messages
        report = self._window.close_if_quiet(self.clock(), idle)
        if report is not None:
            self._backlog_closed(report)
        elif self._window.active:
            assert self._loop is not None
            self._window_timer = self._loop.call_later(self._window.quiet / 2, self._check_backlog)

    def _backlog_closed(self, report: BacklogReport | None) -> None:
        if self._window_timer is not None:
            self._window_timer.cancel()
            self._window_timer = None
        if report is not None:
            log.info(
                "session_backlog_delivered",
                messages=report.messages,
                readings_marked_backlog=report.readings_marked,
                seconds=report.seconds,
                note="readings without a payload time in it are timed at delivery; "
                "rate-of-change rules hold on them, threshold rules see them",
            )

    @property
    def in_backlog(self) -> bool:
        """True while the backlog of a resumed session is being delivered."""
        return self._window.active

    async def drain(self) -> None:
        """Flush the open batch and wait until everything is durable and acknowledged."""
        self.flush()
        await self._idle.wait()

    def stop(self) -> None:
        self._backlog_closed(self._window.close(self.clock()))
        self.writer.stop()
