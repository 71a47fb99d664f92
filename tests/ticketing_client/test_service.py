from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from gatewatch.core.events import EventKind
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.adapters.local import LocalAdapter
from gatewatch.ticketing_client.schema import connect_state
from gatewatch.ticketing_client.service import Ticketing
from gatewatch.ticketing_client.worker import Worker
from harness import Clock
from ticket_events import T0, server_room


def test_submit_tick_and_stop_deliver_everything(tmp_path: Path) -> None:
    conn, lock, clock = connect_state(tmp_path / "state.db"), threading.Lock(), Clock()
    worker = Worker(conn, LocalAdapter(conn, lock=lock), lock=lock, clock=clock)
    tickets = Ticketing(conn, lock, worker, clock=clock, sla_check_interval=0.01)

    async def go() -> None:
        await tickets.start()
        tickets.submit([server_room(), server_room(EventKind.UPDATED, ts=T0 + 900)])
        clock.now = T0 + 420  # the SLA timer sees the injected clock
        for _ in range(300):
            await asyncio.sleep(0.01)
            if outbox.counts(conn) == {"done": 3}:
                break
        await tickets.stop()

    asyncio.run(go())
    assert outbox.counts(conn) == {"done": 3}
    row = conn.execute("SELECT priority, queue FROM local_tickets").fetchone()
    assert row == (1, "Supervisors")
    assert tickets.check_sla() == []  # once per level
    key = conn.execute("SELECT incident_key FROM local_tickets").fetchone()[0]
    assert worker.stats.escalations_by_rule == {key.split(":")[0]: 1}
