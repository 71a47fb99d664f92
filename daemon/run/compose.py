"""The composition root: the one place the daemon's stages are built, wired and ordered.

The data flow; each arrow is a collaborator given at construction, nothing is
attached afterwards:

    MQTT -> ingest (decode, batch) -> store (commit, then PUBACK)
         -> anomaly (each durable batch: its readings + their derived signals)
         -> rules (alert events) -> tickets (outbox rows and the rule state that
            caused them in one transaction; a predictive ticket's trend plot from
            the anomaly models)
    ops (sd_notify, /metrics, /healthz, the status page) watches them all.

The stages start in the reverse of the flow, a sink before its sources, and
stop in exactly the reverse of the start (``STAGES``): tickets, rules, anomaly
start first (the outbox worker runs, the rule state and the models are
restored); ops (the observer) starts once what it reports on is up and just
before the sources, so /healthz and the status page never show a half-started
daemon and it hears the first broker connection; then the store and ingest.
The stop: ingest first (the drain: stop reading, commit the open batch, send
the last PUBACKs; anomaly and rules see the drained readings), the store
(closed), ops (STOPPING=1 went out when the drain began), the anomaly models
and the rule state (saved), the outbox worker (finishes what is in flight).
``gatewatch run`` (:func:`serve`) and ``gatewatch demo`` build the same daemon
here; the demo adds its observers (``Observers``) and its clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from gatewatch.daemon.config.load import Config
from gatewatch.daemon.ops.status_page import StatusPage
from gatewatch.daemon.run import stage_metrics
from gatewatch.daemon.run.anomaly_runtime import AnomalyRuntime
from gatewatch.daemon.run.anomaly_stage import AnomalyStage
from gatewatch.daemon.run.config_reload import ConfigReloader
from gatewatch.daemon.run.ingest_stage import IngestStage, StateListener, StoreStage, build_ingest
from gatewatch.daemon.run.rules_stage import EventListener, RulesStage
from gatewatch.daemon.run.stage import Lifecycle
from gatewatch.daemon.run.supervise import Supervisor
from gatewatch.daemon.run.tickets_stage import TicketsStage
from gatewatch.sensors.ingest import ReadingsListener
from gatewatch.sensors.store.journal import JournalCursor
from prometheus_client import CollectorRegistry

if TYPE_CHECKING:
    from gatewatch.sensors.store.base import Forwarder, ForwardLag

log = structlog.get_logger("gatewatch.daemon")
STAGES = ("tickets", "rules", "anomaly", "ops", "store", "ingest")  # the start order


@dataclass(frozen=True, slots=True)
class Observers:
    """A caller's own listeners, called after the daemon's (the demo's tally and printer)."""

    readings: tuple[ReadingsListener, ...] = ()  # each durable batch, in commit order
    events: tuple[EventListener, ...] = ()  # alert events of the rules
    broker: tuple[StateListener, ...] = ()  # MQTT link state: "up" once subscribed


@dataclass(frozen=True, slots=True)
class Daemon:
    cfg: Config
    lifecycle: Lifecycle
    source: IngestStage
    anomaly: AnomalyStage
    rules: RulesStage
    ops: Supervisor
    reloader: ConfigReloader

    async def start(self) -> None:
        await self.lifecycle.start()
        cfg = self.cfg
        log.info(
            "gatewatch_started",
            config=cfg.source,
            store=str(cfg.store.path),
            assets=len(cfg.assets),
            topics=[t.pattern for t in cfg.topics],
        )

    async def stop(self) -> None:
        stats = self.source.ingest.stats
        log.info("gatewatch_draining", pending=stats.pending)
        await self.lifecycle.stop()
        log.info("gatewatch_stopped", messages=stats.messages, durable=stats.messages_durable)

    async def run(self, stop: asyncio.Event) -> None:
        """Start, run until ``stop`` is set, then drain and stop: nothing read is dropped."""
        await self.start()
        await stop.wait()
        await self.stop()

    def reload(self) -> None:
        """SIGHUP: the configuration validated again, the rules reloaded (or the last good
        ones kept)."""
        self.reloader.reload()


def build(
    cfg: Config,
    config_path: Path,
    *,
    clock: Callable[[], float] = time.time,
    env: Mapping[str, str] | None = None,
    observers: Observers = Observers(),
) -> Daemon:
    """The daemon of ``cfg``, built sink first; ``env`` is for sd_notify (None: os.environ)."""
    registry = CollectorRegistry(auto_describe=False)
    metered = stage_metrics.instruments()
    models = AnomalyRuntime(cfg.anomaly)
    tickets = TicketsStage(
        cfg, evidence=models.with_evidence, ack_observers=[metered.observe_ack], clock=clock
    )
    cursor = JournalCursor()  # how far the rules got in the store's evaluation journal
    rules = RulesStage(
        cfg,
        tickets,
        cursor=cursor,
        listeners=observers.events,
        eval_observers=[metered.evaluations.observe],
        clock=clock,
    )
    anomaly = AnomalyStage(cfg, models, rules.on_readings, clock=clock)
    store = StoreStage(cfg)
    ingest = build_ingest(cfg, store.store, [anomaly.on_readings, *observers.readings], cursor)
    stage_metrics.register(registry, metered, tickets, rules, clock)
    reloader = ConfigReloader(config_path, cfg, subscribers=[rules.reload])
    ops = Supervisor(
        cfg,
        ingest,
        registry=registry,
        checks=[stage_metrics.outbox_check(cfg, clock), stage_metrics.events_check(rules)],
        pages={"/": _status_page(cfg, rules, clock)},
        reloads=reloader.stats,
        forward=_lag(store.forwarder),
        env=env,
    )
    source = IngestStage(cfg, ingest, on_state=[ops.on_broker_state, *observers.broker])
    lifecycle = Lifecycle([tickets, rules, anomaly, ops, store, source])
    return Daemon(cfg, lifecycle, source, anomaly, rules, ops, reloader)


async def serve(cfg: Config, config_path: Path) -> Daemon:
    """``gatewatch run``: until SIGTERM or SIGINT (then the drain); SIGHUP reloads."""
    stop = asyncio.Event()
    daemon = build(cfg, config_path)
    install_signal_handlers(stop, reload=daemon.reload)
    await daemon.run(stop)
    ignore_stop_signals()  # drained: a second SIGTERM must not make the exit a kill
    return daemon


def _status_page(cfg: Config, rules: RulesStage, clock: Callable[[], float]) -> StatusPage:
    alerts = lambda: rules.open_alerts  # noqa: E731 - read at request time
    return StatusPage(cfg.site, cfg.assets, cfg.store.path, cfg.state_db, alerts, clock=clock)


def _lag(forwarder: Forwarder | None) -> Callable[[], ForwardLag | None]:
    return (lambda: None) if forwarder is None else forwarder.lag


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
