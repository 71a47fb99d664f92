"""The ticketing stage of the daemon: outbox worker and SLA timer as a PipelineHook.

Started before ingest (a sink starts before its sources) and stopped after
the rules saved their state: actions in flight finish or stay queued in the
outbox for the next start.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import structlog
from gatewatch.daemon.config.load import Config
from gatewatch.daemon.run.pipeline import Pipeline
from gatewatch.ticketing_client.config import build_worker
from gatewatch.ticketing_client.schema import connect_state
from gatewatch.ticketing_client.service import Ticketing

log = structlog.get_logger("gatewatch.tickets")


class TicketsStage:
    def __init__(self, cfg: Config, *, clock: Callable[[], float] = time.time) -> None:
        self.conn = connect_state(cfg.state_db, synchronous=cfg.store.synchronous)
        self.lock = threading.Lock()
        settings = cfg.tickets
        self.worker = build_worker(settings, self.conn, self.lock)
        self.ticketing = Ticketing(
            self.conn,
            self.lock,
            self.worker,
            clock=clock,
            sla_check_interval=settings.sla_check_interval,
            ack_poll_interval=settings.ack_poll_interval,
        )
        self.backend = settings.backend
        self._started: asyncio.Task[None] | None = None

    def attach(self, p: Pipeline) -> None:
        self._started = asyncio.get_running_loop().create_task(self.ticketing.start())
        log.info("tickets_started", backend=self.backend)

    def draining(self, p: Pipeline) -> None:
        """Actions keep being delivered while ingest drains."""

    async def close(self) -> None:
        if self._started is not None:
            await self._started
        await self.ticketing.stop()
        self.conn.close()
