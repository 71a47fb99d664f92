"""The tickets stage: alert events -> the outbox; the worker, SLA timer and ack poll.

Started before the rules (a sink starts before its sources) and stopped after
them, once they saved their state: actions in flight finish or stay queued in
the outbox for the next start. An event on its way in gets its evidence first
(``evidence``: the anomaly models attach a predictive ticket's trend plot).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import structlog
from gatewatch.core.events import AlertEvent
from gatewatch.daemon.config.load import Config
from gatewatch.ticketing_client.config import build_worker
from gatewatch.ticketing_client.outbox import Ack
from gatewatch.ticketing_client.schema import connect_state
from gatewatch.ticketing_client.service import StateWriter, Ticketing

log = structlog.get_logger("gatewatch.tickets")
Evidence = Callable[[list[AlertEvent]], list[AlertEvent]]


class TicketsStage:
    name = "tickets"

    def __init__(
        self,
        cfg: Config,
        *,
        evidence: Evidence = list,
        ack_observers: Sequence[Callable[[Ack], None]] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state_db = cfg.state_db
        self.conn = connect_state(cfg.state_db, synchronous=cfg.store.synchronous)
        self.lock = threading.Lock()
        settings = cfg.tickets
        self.worker = build_worker(settings, self.conn, self.lock, ack_observers=ack_observers)
        self.ticketing = Ticketing(
            self.conn,
            self.lock,
            self.worker,
            clock=clock,
            sla_check_interval=settings.sla_check_interval,
            ack_poll_interval=settings.ack_poll_interval,
        )
        self.backend, self.evidence = settings.backend, evidence

    async def start(self) -> None:
        await self.ticketing.start()
        log.info("tickets_started", backend=self.backend)

    def draining(self) -> None:
        """Actions keep being delivered while ingest drains."""

    async def stop(self) -> None:
        await self.ticketing.stop()
        self.conn.close()

    def submit(self, events: list[AlertEvent], state: StateWriter | None = None) -> list[int]:
        """EventOutbox: the events' actions (with their evidence) and ``state``, one commit."""
        return self.ticketing.submit(self.evidence(events), state)
