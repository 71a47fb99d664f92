"""Redmine outages and throttling, through the fault proxy in front of the real Redmine."""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_proxy import FaultProxy
from gatewatch.rules.events import EventKind
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.adapters.desk_http import Connection
from gatewatch.ticketing_client.adapters.redmine import RedmineAdapter
from gatewatch.ticketing_client.retry import RetryPolicy
from gatewatch.ticketing_client.worker import Worker
from harness import Desk, open_desk
from redmine_client import RedmineReader
from redmine_server import Redmine
from ticket_events import T0, server_room

# FaultProxy (tests/ticketing_client/fault_proxy.py) leaves asyncio StreamWriters of
# connections cut by down()/stop() unclosed; they are collected here, in teardown, and
# their ResourceWarnings are not about the Redmine adapter.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture
def proxy(redmine_server: Redmine) -> Iterator[FaultProxy]:
    p = FaultProxy(redmine_server.port).start()
    yield p
    p.stop()
    gc.collect()  # the proxy's leftovers go now, under this module's warning filter


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


def test_redmine_down_then_back_delivers_in_order(
    tmp_path: Path, redmine: RedmineReader, proxy: FaultProxy
) -> None:
    desk, k = open_desk(tmp_path), f"rm-fault/{uuid.uuid4().hex[:8]}"
    desk.event(server_room(key=k))
    desk.event(server_room(EventKind.UPDATED, key=k, ts=T0 + 900, value=32.0))
    proxy.down()
    run(worker(desk, redmine, proxy.url), 1.0)
    [head, _] = outbox.list_rows(desk.conn)
    assert head.attempts >= 1 and head.last_error.startswith("cannot reach 127.0.0.1 (redmine)")
    proxy.up()
    run(worker(desk, redmine, proxy.url), 60.0)
    assert outbox.counts(desk.conn) == {"done": 2}
    ticket = desk.ticket(k) or ""
    assert redmine.issues_for(k) == [ticket]
    assert redmine.texts(ticket)[1].startswith("Still firing: 32 C")


def test_503_with_retry_after_is_honoured(
    tmp_path: Path, redmine: RedmineReader, proxy: FaultProxy
) -> None:
    desk, k = open_desk(tmp_path), f"rm-fault/{uuid.uuid4().hex[:8]}"
    desk.event(server_room(key=k))
    proxy.only_path = "/issues.json"
    proxy.script("503:1")
    w = worker(desk, redmine, proxy.url)
    run(w, 60.0)
    assert outbox.counts(desk.conn) == {"done": 1} and w.stats.retried == 1
    assert redmine.issues_for(k) == [desk.ticket(k)]
    hits = [s for s in proxy.seen if "/issues.json" in s.path]
    assert hits[0].answer == "503:1" and hits[1].at - hits[0].at >= 0.95
