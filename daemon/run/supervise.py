"""The ops stage: what an unattended daemon owes its supervisor: sd_notify, /metrics, /healthz.

``Supervisor`` starts once the stages it reports on are up, just before the
store and ingest, and stops right after them; it hears every broker
connection from the first (its ``on_broker_state`` is one of the MQTT
subscriber's state listeners, given at construction). It sends READY=1 once
the store is open (from construction), the broker has accepted the connection
and every ``ready_gates`` awaitable is done, WATCHDOG=1 and STATUS= from the
event loop, STOPPING=1 when the drain begins, and serves /metrics, /healthz
and the given pages on loopback. Everything it shows is given at construction:
the ingest stats, the registry with the later stages' metrics, their health
checks, the reload counters, the forwarding lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import structlog
from gatewatch.daemon.config.load import Config
from gatewatch.daemon.ops.health import (
    BrokerLink,
    HealthCheck,
    HealthReport,
    StoreHealth,
    evaluate,
)
from gatewatch.daemon.ops.httpserver import ObservabilityServer, Page
from gatewatch.daemon.ops.metrics import MetricSources, PipelineCollector, ReloadStats
from gatewatch.daemon.ops.notify import Notifier, notify_loop, watchdog_interval
from gatewatch.daemon.run.stage import spawn
from gatewatch.sensors.ingest import Ingest
from prometheus_client import CollectorRegistry

if TYPE_CHECKING:
    from gatewatch.sensors.store.base import ForwardLag

log = structlog.get_logger("gatewatch.supervise")
STATUS_EVERY = 10.0  # seconds between STATUS= updates when there is no watchdog


class Supervisor:
    name = "ops"

    def __init__(
        self,
        cfg: Config,
        ingest: Ingest,
        *,
        registry: CollectorRegistry | None = None,
        checks: Sequence[tuple[str, HealthCheck]] = (),
        pages: Mapping[str, Page] | None = None,
        ready_gates: Sequence[Callable[[], Awaitable[object]]] = (),
        reloads: ReloadStats | None = None,
        forward: Callable[[], ForwardLag | None] = lambda: None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.cfg, self.ingest = cfg, ingest
        self.link = BrokerLink()
        self.notifier = Notifier.from_env(env)
        self.watchdog = watchdog_interval(env, os.getpid())
        store = StoreHealth(ingest.writer, [cfg.store.path, cfg.state_db])
        self.checks = [("broker", self.link.check), *checks, ("store", store.check)]
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=False)
        reloads = reloads if reloads is not None else ReloadStats()
        sources = MetricSources(ingest, self.link, self.health, reloads, forward=forward)
        self.registry.register(PipelineCollector(sources))
        self.pages = dict(pages or {})  # path -> HTML page served next to /metrics
        self.ready_gates = tuple(ready_gates)  # READY=1 also waits for each of these
        self.server: ObservabilityServer | None = None
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.server = self._serve()
        self._spawn(self._ready_when_connected(), "sd-ready")
        if self.notifier.enabled:
            interval = self.watchdog or STATUS_EVERY
            loop = notify_loop(
                self.notifier, interval, self.status_line, watchdog=bool(self.watchdog)
            )
            self._spawn(loop, "sd-watchdog")

    def draining(self) -> None:
        self.notifier.stopping(f"draining: {self.ingest.stats.pending} messages pending")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.server is not None:
            await asyncio.to_thread(self.server.close)

    def on_broker_state(self, state: str, info: dict[str, Any]) -> None:
        """An MQTT subscriber state listener: the broker check, and READY's first condition."""
        self.link(state, info)
        if state == "up":
            self._connected.set()

    # used by the HTTP thread and the notify loop
    def health(self) -> HealthReport:
        return evaluate(self.checks)

    def status_line(self) -> str:
        broker = "connected" if self.link.connected else f"DOWN ({self.link.error})"
        s = self.ingest.stats
        return (
            f"broker {broker}; {s.messages} messages, {s.readings_durable} readings stored, "
            f"{sum(s.dead_letters.values())} dead letters, {s.pending} pending"
        )

    def _serve(self) -> ObservabilityServer | None:
        http = self.cfg.http
        if not http.enabled:
            return None
        try:
            server = ObservabilityServer(
                (http.host, http.port), self.registry, self.health, self.pages
            )
        except OSError as exc:  # ingest matters more than its dashboard: keep running
            log.error(
                "http_listen_failed",
                host=http.host,
                port=http.port,
                error=str(exc),
                fix="choose a free http.port in the configuration",
            )
            return None
        return server.start()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(spawn(coro, name))

    async def _ready_when_connected(self) -> None:
        await self._connected.wait()
        for gate in self.ready_gates:
            await gate()
        self.notifier.ready(self.status_line())
        log.info("service_ready", status=self.status_line())
