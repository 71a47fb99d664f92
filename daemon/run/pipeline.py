"""Wiring of the ingest pipeline: sinks start before sources, drain in reverse."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import structlog
from gatewatch.daemon.config.load import Config
from gatewatch.sensors.decode import PayloadDecoder
from gatewatch.sensors.ingest import Ingest
from gatewatch.sensors.mqtt.client import MqttSubscriber
from gatewatch.sensors.store.sqlite import SqliteStore
from gatewatch.sensors.writer import StoreWriter

if TYPE_CHECKING:
    from gatewatch.sensors.store.influx import InfluxForwarder

log = structlog.get_logger("gatewatch.daemon")
PRUNE_EVERY = 3600.0
DRAIN_TIMEOUT = 30.0


@dataclass
class Pipeline:
    store: SqliteStore
    ingest: Ingest
    subscriber: MqttSubscriber
    forwarder: InfluxForwarder | None = None  # set once started; hooks read its lag


class PipelineHooks(Protocol):
    """Observers of the pipeline's lifetime (sd_notify, metrics, health)."""

    def attach(self, p: Pipeline) -> None:
        """Built, store open, nothing started yet: the first connection is still ahead."""

    def draining(self, p: Pipeline) -> None:
        """Stop requested; the drain begins."""

    async def close(self) -> None:
        """Everything stopped and the store closed."""


def build_pipeline(cfg: Config) -> Pipeline:
    store = SqliteStore(
        cfg.store.path,
        cfg.state_db,
        retention_days=cfg.store.retention_days,
        forward=cfg.influxdb is not None,
        synchronous=cfg.store.synchronous,
    )
    decoder = PayloadDecoder(
        cfg.topics,
        cfg.assets,
        default_site=cfg.site,
        max_payload_bytes=cfg.ingest.max_payload_bytes,
        strict_assets=cfg.ingest.strict_assets,
    )
    ingest = Ingest(
        decoder,
        lambda on_durable: StoreWriter(store, on_durable),
        batch_max=cfg.ingest.batch_max,
        batch_delay=cfg.ingest.batch_delay,
        max_pending=cfg.ingest.max_pending,
    )
    return Pipeline(store, ingest, MqttSubscriber(cfg.mqtt, ingest))


async def run_pipeline(
    cfg: Config, stop: asyncio.Event, hooks: Sequence[PipelineHooks] = ()
) -> None:
    """Run ingest until ``stop`` is set; then drain: nothing read is dropped."""
    p = build_pipeline(cfg)
    for hook in hooks:
        hook.attach(p)
    forwarder = None
    if cfg.influxdb is not None:
        from gatewatch.sensors.store.influx import InfluxForwarder

        forwarder = InfluxForwarder(cfg.store.path, cfg.influxdb)
        forwarder.start()
        p.forwarder = forwarder
    p.ingest.start()
    source = asyncio.create_task(p.subscriber.run(), name="mqtt")
    pruner = asyncio.create_task(_prune_loop(p.store), name="prune")
    log.info(
        "gatewatch_started",
        config=cfg.source,
        store=str(cfg.store.path),
        assets=len(cfg.assets),
        topics=[t.pattern for t in cfg.topics],
    )
    await stop.wait()
    log.info("gatewatch_draining", pending=p.ingest.stats.pending)
    for hook in hooks:
        hook.draining(p)
    if p.subscriber.connection is not None:
        p.subscriber.connection.pause()
    try:
        await asyncio.wait_for(p.ingest.drain(), DRAIN_TIMEOUT)
    except TimeoutError:
        log.error(
            "drain_timeout",
            pending=p.ingest.stats.pending,
            note="unacknowledged messages stay with the broker",
        )
    p.subscriber.stop()
    await source
    pruner.cancel()
    p.ingest.stop()
    if forwarder is not None:
        forwarder.stop()
    p.store.close()
    for hook in reversed(hooks):
        await hook.close()
    log.info(
        "gatewatch_stopped",
        messages=p.ingest.stats.messages,
        durable=p.ingest.stats.messages_durable,
    )


async def _prune_loop(store: SqliteStore) -> None:
    while True:
        removed = await asyncio.to_thread(store.prune, time.time())
        if removed:
            log.info("retention_pruned", readings=removed)
        await asyncio.sleep(PRUNE_EVERY)


def install_signal_handlers(stop: asyncio.Event, reload: Callable[[], None] | None = None) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if reload is not None:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGHUP, reload)


def ignore_stop_signals() -> None:
    """Call once the drain is done: a repeated SIGTERM/SIGINT while the process finishes
    exiting (executor and thread shutdown) must not turn a clean stop into death by
    signal. Closing the loop would otherwise restore the default (fatal) handlers."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(sig)
        signal.signal(sig, signal.SIG_IGN)
