"""Redmine unreachable, then back: nothing is lost, everything arrives in order, once.

(The 503/429 Retry-After handling is shared by every desk: test_desk_http.py and the
Zendesk rate-limit test cover it.)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from gatewatch.core.events import EventKind
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.adapters.desk_http import Connection
from gatewatch.ticketing_client.adapters.redmine import RedmineAdapter
from gatewatch.ticketing_client.retry import RetryPolicy
from gatewatch.ticketing_client.worker import Worker
from harness import Desk, open_desk
from redmine_client import RedmineReader
from servers import free_port
from ticket_events import T0, server_room

pytestmark = pytest.mark.slow


def worker(desk: Desk, redmine: RedmineReader, url: str) -> Worker:
    settings = redmine.settings()
    conn = Connection(url, settings.conn.auth, timeout=30.0)
    adapter = RedmineAdapter(redmine.settings(conn=conn))
    return Worker(desk.conn, adapter, lock=desk.lock, clock=time.time,
                  retry=RetryPolicy(base=0.05, cap=0.2))  # fmt: skip


def run(w: Worker, seconds: float) -> None:
    async def go() -> None:
        w.start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if outbox.next_due(w.conn) is None and not w._inflight:
                break
        await w.stop()

    asyncio.run(go())


def test_redmine_unreachable_then_back_delivers_in_order(
    tmp_path: Path, redmine: RedmineReader
) -> None:
    desk, k = open_desk(tmp_path), f"rm-fault/{uuid.uuid4().hex[:8]}"
    desk.event(server_room(key=k))
    desk.event(server_room(EventKind.UPDATED, key=k, ts=T0 + 900, value=32.0))
    down = worker(desk, redmine, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    run(down, 1.0)
    [head, update] = outbox.list_rows(desk.conn)
    assert head.attempts >= 2 and update.attempts == 0 and down.stats.parked == 0
    assert head.last_error.startswith("cannot reach 127.0.0.1 (redmine)")
    run(worker(desk, redmine, redmine.server.url), 60.0)
    assert outbox.counts(desk.conn) == {"done": 2}
    ticket = desk.ticket(k) or ""
    assert redmine.issues_for(k) == [ticket]
    texts = redmine.texts(ticket)
    assert len(texts) == 2 and texts[1].startswith("Still firing: 32 C")
