"""The ticketing stage as the daemon wires it: events in, SLA ticks, the worker.

    tickets = Ticketing(conn, lock, worker, clock=time.time)
    await tickets.start()                 # runs the worker, the SLA timer, the ack poll
    tickets.submit(events, state)         # AlertEvents, one transaction for the batch
    await tickets.stop()                  # SIGTERM

``state`` is the caller's own state that must commit with the outbox rows its
events caused (the rule engine's alert state): anything implementing
:class:`StateWriter`. Ticketing calls nothing else of its caller's; a caller
that only needs the queue implements :class:`EventOutbox` over ``submit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from gatewatch.core.events import AlertEvent
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.acks import AckPoller
from gatewatch.ticketing_client.worker import Worker


class StateWriter(Protocol):
    """State written in the outbox's transaction, so a crash keeps both or neither."""

    def write_state(self, conn: sqlite3.Connection) -> None:
        """Write the state on ``conn`` (inside the open transaction; do not commit)."""


class EventOutbox(Protocol):
    """Where alert events go to become ticket actions (``Ticketing.submit``'s shape)."""

    def submit(self, events: list[AlertEvent], state: StateWriter | None = None) -> object:
        """Queue the events' actions and write ``state`` in the same transaction."""


class Ticketing:
    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: threading.Lock,
        worker: Worker,
        *,
        clock: Callable[[], float] = time.time,
        sla_check_interval: float = 5.0,
        ack_poll_interval: float = 60.0,
    ) -> None:
        self.conn, self.lock, self.worker, self.clock = conn, lock, worker, clock
        self.sla_check_interval = sla_check_interval
        self.ack_poll_interval = ack_poll_interval
        self.acks = AckPoller(
            conn, lock, worker.adapter, clock=clock, observers=worker.ack_observers
        )
        self._timer: asyncio.Task[None] | None = None
        self._ack_timer: asyncio.Task[None] | None = None

    def submit(self, events: Iterable[AlertEvent], state: StateWriter | None = None) -> list[int]:
        """Queue the actions of these events and write ``state`` (one commit), then wake
        the worker."""
        ids: list[int] = []
        with self.lock, outbox.transaction(self.conn):
            for event in events:
                ids += outbox.enqueue(self.conn, event, self.clock())
            if state is not None:
                state.write_state(self.conn)
        if ids:
            self.worker.notify()
        return ids

    def check_sla(self) -> list[int]:
        """Queue the SLA escalations due now (each level once)."""
        with self.lock, outbox.transaction(self.conn):
            ids: list[int] = outbox.enqueue_due_escalations(self.conn, self.clock())
        if ids:
            self.worker.notify()
        return ids

    def notify(self) -> None:
        self.worker.notify()

    async def start(self) -> None:
        self.worker.start()
        self._timer = asyncio.create_task(self._sla_loop(), name="ticket-sla")
        self._ack_timer = asyncio.create_task(
            self.acks.run(self.ack_poll_interval), name="ticket-acks"
        )

    async def _sla_loop(self) -> None:
        while True:
            self.check_sla()
            await asyncio.sleep(self.sla_check_interval)

    async def stop(self, timeout: float = 10.0) -> None:
        for timer in (self._timer, self._ack_timer):
            if timer is not None:
                timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await timer
        await self.worker.stop(timeout)
