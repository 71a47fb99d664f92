"""What an unattended daemon owes its supervisor: sd_notify, /metrics, /healthz, SIGHUP.

``Supervisor`` plugs into ``run_pipeline`` as a hook: it sees the pipeline
before the MQTT source starts (so it hears the first connection), sends
READY=1 once the store is open, the broker has accepted the connection and
every ``ready_gates`` awaitable is done, WATCHDOG=1 and STATUS= from the
event loop, STOPPING=1 when the drain begins, and serves /metrics and
/healthz on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

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
from gatewatch.daemon.ops.metrics import GaugeHook, MetricSources, PipelineCollector
from gatewatch.daemon.ops.notify import Notifier, notify_loop, watchdog_interval
from gatewatch.daemon.run.config_reload import ConfigReloader
from gatewatch.daemon.run.pipeline import Pipeline
from prometheus_client import CollectorRegistry

log = structlog.get_logger("gatewatch.supervise")
STATUS_EVERY = 10.0  # seconds between STATUS= updates when there is no watchdog


class Supervisor:
    def __init__(
        self, cfg: Config, config_path: Path, *, env: Mapping[str, str] | None = None
    ) -> None:
        env = os.environ if env is None else env
        self.cfg = cfg
        self.link = BrokerLink()
        self.notifier = Notifier.from_env(env)
        self.watchdog = watchdog_interval(env, os.getpid())
        self.reloader = ConfigReloader(config_path, cfg)
        self.checks: list[tuple[str, HealthCheck]] = [("broker", self.link.check)]
        self.gauges: dict[str, tuple[str, GaugeHook]] = {}
        # later stages register their own metrics here (histograms, labelled counters)
        self.registry = CollectorRegistry(auto_describe=False)
        # READY=1 also waits for each of these (the outbox, once it exists)
        self.ready_gates: list[Callable[[], Awaitable[object]]] = []
        # path -> HTML page served next to /metrics (the status page at /)
        self.pages: dict[str, Page] = {}
        self.server: ObservabilityServer | None = None
        self.pipeline: Pipeline | None = None
        self._connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # PipelineHooks
    def attach(self, p: Pipeline) -> None:
        self.pipeline = p
        store = StoreHealth(p.ingest.writer, [self.cfg.store.path, self.cfg.state_db])
        self.checks.append(("store", store.check))
        sources = MetricSources(p.ingest, self.link, self.health, self.reloader.stats, self.gauges)
        sources.forward = lambda: p.forwarder.lag() if p.forwarder is not None else None
        self.registry.register(PipelineCollector(sources))
        previous = p.subscriber.on_state

        def on_state(state: str, info: dict[str, Any]) -> None:
            previous(state, info)
            self.link(state, info)

        p.subscriber.on_state = on_state
        self.link.listeners.append(lambda up: self._connected.set() if up else None)
        self.server = self._serve()
        self._spawn(self._ready_when_connected(), "sd-ready")
        if self.notifier.enabled:
            interval = self.watchdog or STATUS_EVERY
            loop = notify_loop(
                self.notifier, interval, self.status_line, watchdog=bool(self.watchdog)
            )
            self._spawn(loop, "sd-watchdog")

    def draining(self, p: Pipeline) -> None:
        self.notifier.stopping(f"draining: {p.ingest.stats.pending} messages pending")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.server is not None:
            await asyncio.to_thread(self.server.close)

    # used by the HTTP thread, the signal handler and the notify loop
    def health(self) -> HealthReport:
        return evaluate(self.checks)

    def reload(self) -> None:
        self.reloader.reload()

    def status_line(self) -> str:
        broker = "connected" if self.link.connected else f"DOWN ({self.link.error})"
        if self.pipeline is None:
            return f"broker {broker}"
        s = self.pipeline.ingest.stats
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
        self._tasks.append(asyncio.create_task(coro, name=name))

    async def _ready_when_connected(self) -> None:
        await self._connected.wait()
        for gate in self.ready_gates:
            await gate()
        self.notifier.ready(self.status_line())
        log.info("service_ready", status=self.status_line())
