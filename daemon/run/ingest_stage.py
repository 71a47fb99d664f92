"""The source end of the pipeline: the readings store, and MQTT -> decode -> batch -> store.

``StoreStage`` owns the SQLite store (open from construction: the ingest
writer is built on it), the optional store-and-forward thread to InfluxDB and
the retention pruner; it stops after ingest and closes the store last.

``IngestStage`` is the source: the MQTT subscriber feeding :class:`Ingest`,
whose listeners (given at construction) see each batch once the store
committed it. Its stop is the drain: stop reading, commit the open batch,
send the last PUBACKs (the listeners see the drained readings before it
returns), disconnect, stop the writer thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from gatewatch.daemon.config.decoder import build_decoder
from gatewatch.daemon.config.load import Config
from gatewatch.daemon.run.stage import spawn
from gatewatch.sensors.ingest import Ingest, ReadingsListener
from gatewatch.sensors.mqtt.client import MqttSubscriber
from gatewatch.sensors.store.base import Forwarder
from gatewatch.sensors.store.forwarders import build_forwarder
from gatewatch.sensors.store.journal import JournalCursor
from gatewatch.sensors.store.sqlite import SqliteStore
from gatewatch.sensors.writer import StoreWriter

log = structlog.get_logger("gatewatch.daemon")
PRUNE_EVERY = 3600.0
DRAIN_TIMEOUT = 30.0
StateListener = Callable[[str, dict[str, Any]], None]  # MQTT link: ("up" | "down", info)


class StoreStage:
    name = "store"

    def __init__(self, cfg: Config) -> None:
        self.store = SqliteStore(
            cfg.store.path,
            cfg.state_db,
            retention_days=cfg.store.retention_days,
            forward=cfg.forward is not None,
            journal=bool(cfg.rules.paths),  # what the rules have not evaluated yet
            synchronous=cfg.store.synchronous,
        )
        self.forwarder: Forwarder | None = None
        if cfg.forward is not None:  # the target named in gatewatch.yaml, from FORWARDERS
            self.forwarder = build_forwarder(cfg.forward.name, cfg.forward.settings, cfg.store.path)
        self._pruner: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.forwarder is not None:
            self.forwarder.start()
        self._pruner = spawn(_prune_loop(self.store), "prune")

    def draining(self) -> None:
        """The writer keeps committing what ingest drains."""

    async def stop(self) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruner
        if self.forwarder is not None:
            self.forwarder.stop()
        self.store.close()


def build_ingest(
    cfg: Config,
    store: SqliteStore,
    listeners: Sequence[ReadingsListener],
    cursor: JournalCursor | None = None,
) -> Ingest:
    return Ingest(
        build_decoder(cfg),
        lambda on_durable: StoreWriter(store, on_durable),
        batch_max=cfg.ingest.batch_max,
        batch_delay=cfg.ingest.batch_delay,
        max_pending=cfg.ingest.max_pending,
        listeners=listeners,
        cursor=cursor,
    )


class IngestStage:
    name = "ingest"

    def __init__(self, cfg: Config, ingest: Ingest, on_state: Sequence[StateListener]) -> None:
        self.ingest = ingest
        self.subscriber = MqttSubscriber(cfg.mqtt, ingest, on_state=_fan_out(on_state))
        self._source: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.ingest.start()
        self._source = spawn(self.subscriber.run(), "mqtt")

    def draining(self) -> None:
        """Told first; reading stops when this stage stops (it is the first to)."""

    async def stop(self) -> None:
        if self.subscriber.connection is not None:
            self.subscriber.connection.pause()
        try:
            await asyncio.wait_for(self.ingest.drain(), DRAIN_TIMEOUT)
        except TimeoutError:
            log.error(
                "drain_timeout",
                pending=self.ingest.stats.pending,
                note="unacknowledged messages stay with the broker",
            )
        self.subscriber.stop()
        if self._source is not None:
            await self._source
        self.ingest.stop()


def _fan_out(listeners: Sequence[StateListener]) -> StateListener:
    listeners = tuple(listeners)

    def on_state(state: str, info: dict[str, Any]) -> None:
        for listener in listeners:
            listener(state, info)

    return on_state


async def _prune_loop(store: SqliteStore) -> None:
    while True:
        try:
            removed = await asyncio.to_thread(store.prune, time.time())
        except Exception:  # a locked or damaged store: tried again at the next hour
            log.exception("retention_prune_failed", store=str(store.path))
        else:
            if removed:
                log.info("retention_pruned", readings=removed)
        await asyncio.sleep(PRUNE_EVERY)
