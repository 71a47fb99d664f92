"""A state database, an injected clock and a worker, for ticketing tests."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

from gatewatch.core.events import AlertEvent
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.adapters.base import Adapter
from gatewatch.ticketing_client.retry import RetryPolicy
from gatewatch.ticketing_client.schema import connect_state
from gatewatch.ticketing_client.worker import Worker
from ticket_events import T0


@dataclass
class Clock:
    now: float = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class Desk:
    """The caller side: events into the outbox (one transaction each), SLA ticks, delivery."""

    conn: sqlite3.Connection
    clock: Clock
    lock: threading.Lock = field(default_factory=threading.Lock)

    def event(self, event: AlertEvent) -> list[int]:
        self.clock.now = max(self.clock.now, event.ts)
        with self.lock, outbox.transaction(self.conn):
            return outbox.enqueue(self.conn, event)

    def tick(self, now: float) -> list[int]:
        self.clock.now = now
        with self.lock, outbox.transaction(self.conn):
            return outbox.enqueue_due_escalations(self.conn, now)

    def worker(self, adapter: Adapter, **kw: object) -> Worker:
        kw.setdefault("retry", RetryPolicy(base=0.01, cap=0.05))
        kw.setdefault("rng", random.Random(3))
        return Worker(self.conn, adapter, lock=self.lock, clock=self.clock, **kw)  # type: ignore[arg-type]

    def ticket(self, key: str) -> str | None:
        return outbox.mapped_ticket(self.conn, key)

    def counts(self) -> dict[str, int]:
        return outbox.counts(self.conn)


def open_desk(path: Path) -> Desk:
    return Desk(connect_state(path / "state.db"), Clock())


def drain(worker: Worker, timeout: float = 30.0) -> None:
    async def go() -> bool:
        try:
            return await worker.drain(timeout)
        finally:
            await worker.adapter.aclose()

    assert asyncio.run(go()), "outbox did not drain"
