"""Acknowledgements read from the desk: who took a ticket, and how long it took.

The SLA timer only asks the desk when an escalation falls due; an incident
acknowledged before that would never be seen. ``AckPoller.poll`` asks the desk
about every open ticket nobody has taken yet (RT: an owner or a status change
by a person; Redmine: assignee or status changed by someone else; local: a
technician took it with ``gatewatch tickets take``) and records the first
acknowledgement once per ticket opening in state.db (``acknowledged_at``), so
SLA escalations stop and the time to acknowledge reaches /metrics.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable

import structlog
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.adapters.base import Adapter
from gatewatch.ticketing_client.errors import DeskError
from gatewatch.ticketing_client.worker import notify_ack

log = structlog.get_logger("gatewatch.ticketing")
AckObserver = Callable[[outbox.Ack], None]


class AckPoller:
    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: threading.Lock,
        adapter: Adapter,
        *,
        clock: Callable[[], float] = time.time,
        observers: list[AckObserver] | None = None,
        max_per_poll: int = 200,
    ) -> None:
        self.conn, self.lock, self.adapter, self.clock = conn, lock, adapter, clock
        self.observers = observers if observers is not None else []
        self.max_per_poll = max_per_poll  # desk requests per poll stay bounded
        self.failures = 0  # desk answers that failed (the next poll asks again)

    async def poll(self) -> list[outbox.Ack]:
        """One round: ask the desk about each unacknowledged open ticket."""
        with self.lock:
            waiting = outbox.unacknowledged(self.conn)[: self.max_per_poll]
        acks = []
        for key, ticket in waiting:
            if await self._taken(key, ticket):
                ack = self.record(key)
                if ack is not None:
                    acks.append(ack)
        return acks

    async def _taken(self, key: str, ticket: str) -> bool:
        try:
            return await self.adapter.acknowledged(ticket)
        except DeskError as exc:
            self.failures += 1
            log.warning("ack_poll_failed", incident=key, ticket=ticket, reason=exc.reason)
        except Exception:  # an adapter bug must not stop the polling of the others
            self.failures += 1
            log.exception("ack_poll_crashed", incident=key, ticket=ticket)
        return False

    def record(self, key: str) -> outbox.Ack | None:
        """The acknowledgement of one incident, in state.db and to the observers, once."""
        with self.lock, outbox.transaction(self.conn):
            ack = outbox.mark_acknowledged(self.conn, key, self.clock())
        if ack is not None:
            notify_ack(self.observers, ack)
        return ack

    async def run(self, interval: float) -> None:
        while True:
            try:
                await self.poll()
            except Exception:  # state.db locked or full: the next round tries again
                log.exception("ack_poll_failed_round")
            await asyncio.sleep(interval)
