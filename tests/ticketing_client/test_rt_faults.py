"""Service desk outages and refusals, through a fault proxy in front of the real RT."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from fault_proxy import FaultProxy
from gatewatch.core.events import EventKind
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.actions import ActionKind, TicketAction
from gatewatch.ticketing_client.errors import RejectedError
from gatewatch.ticketing_client.retry import RetryPolicy
from gatewatch.ticketing_client.worker import Worker
from harness import Desk, open_desk
from rt_client import RTReader
from rt_server import RequestTracker
from ticket_events import T0, server_room

pytestmark = [
    pytest.mark.slow,
    # The FaultProxy's accepted sockets are sometimes still "closing" when its private
    # loop stops on a loaded machine, and their ResourceWarning at garbage collection
    # failed a test that had passed its assertions (3 of 4 runs at load 8; the fresh-clone
    # CI run too). A harness leak, not the adapter's: the leaked sockets' local port is
    # the proxy's listening port.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]
FAST = RetryPolicy(base=0.05, cap=0.2)


@pytest.fixture
def proxy(rt_server: RequestTracker) -> Iterator[FaultProxy]:
    p = FaultProxy(rt_server.port).start()
    yield p
    p.stop()


def real_clock_worker(desk: Desk, rt: RTReader, url: str, timeout: float = 10.0) -> Worker:
    return Worker(desk.conn, rt.adapter(url, timeout), lock=desk.lock, clock=time.time, retry=FAST)


async def _run(worker: Worker, seconds: float, until_empty: bool) -> None:
    worker.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if until_empty and outbox.next_due(worker.conn) is None and not worker._inflight:
            break
    await worker.stop()


def run(worker: Worker, seconds: float, *, until_empty: bool = False) -> None:
    asyncio.run(_run(worker, seconds, until_empty))


def key() -> str:
    return f"fault/{uuid.uuid4().hex[:8]}"


def test_desk_down_then_back_delivers_everything_in_order(
    tmp_path: Path, rt: RTReader, proxy: FaultProxy
) -> None:
    desk = open_desk(tmp_path)
    keys = [key() for _ in range(4)]
    for k in keys:
        desk.event(server_room(key=k))
        for n in (1, 2):
            desk.event(server_room(EventKind.UPDATED, key=k, ts=T0 + 900 * n, value=30.0 + n))
    proxy.down()
    run(real_clock_worker(desk, rt, proxy.url), 1.0)
    rows = outbox.list_rows(desk.conn)
    assert len(rows) == 12 and all(r.state == "pending" for r in rows)
    heads = [r for r in rows if r.attempts > 0]
    assert {r.kind for r in heads} == {"create"} and len(heads) == 4
    assert all("cannot reach" in r.last_error for r in heads)
    proxy.up()
    run(real_clock_worker(desk, rt, proxy.url), 60.0, until_empty=True)
    assert outbox.counts(desk.conn) == {"done": 12}
    for k in keys:
        ticket = desk.ticket(k) or ""
        assert rt.tickets_for(k) == [ticket]
        texts = rt.comments(ticket)
        assert [t.split(",")[0] for t in texts[1:]] == [
            "Still firing: 31 C (threshold 27 C)",
            "Still firing: 32 C (threshold 27 C)",
        ]


def test_429_and_503_honour_retry_after(tmp_path: Path, rt: RTReader, proxy: FaultProxy) -> None:
    desk, k = open_desk(tmp_path), key()
    desk.event(server_room(key=k))
    proxy.only_path = "/REST/2.0/ticket"
    proxy.script("429:1", "503:1")
    run(real_clock_worker(desk, rt, proxy.url), 20.0, until_empty=True)
    assert rt.tickets_for(k) == [desk.ticket(k)]
    answers = [(s.answer, s.at) for s in proxy.seen if s.path.startswith("/REST/2.0/ticket")]
    assert [a for a, _ in answers[:3]] == ["429:1", "503:1", "pass"]
    gaps = [b - a for (_, a), (_, b) in pairwise(answers[:3])]
    assert all(g >= 0.95 for g in gaps), gaps  # the backoff alone would be <= 0.05 s


def test_5xx_and_dropped_connections_are_retried(
    tmp_path: Path, rt: RTReader, proxy: FaultProxy
) -> None:
    desk, k = open_desk(tmp_path), key()
    desk.event(server_room(key=k))
    proxy.script("500", "502", "close")
    # a 5xx may have been processed: the retry waits 2 x timeout, then searches first
    run(real_clock_worker(desk, rt, proxy.url, timeout=1.0), 30.0, until_empty=True)
    assert rt.tickets_for(k) == [desk.ticket(k)]
    assert [s.answer for s in proxy.seen[:4]] == ["500", "502", "close", "pass"]


def test_hung_connection_hits_the_timeout_and_is_retried(
    tmp_path: Path, rt: RTReader, proxy: FaultProxy
) -> None:
    desk, k = open_desk(tmp_path), key()
    desk.event(server_room(key=k))
    proxy.script("hang")
    started = time.monotonic()
    # 2 s: long enough for a loaded RT to answer the real requests in time
    run(real_clock_worker(desk, rt, proxy.url, timeout=2.0), 60.0, until_empty=True)
    assert time.monotonic() - started >= 2.0
    assert rt.tickets_for(k) == [desk.ticket(k)]
    assert proxy.seen[0].answer == "hang" and proxy.seen[1].answer == "pass"


def test_4xx_is_parked_with_the_desks_reason_and_blocks_its_incident(
    tmp_path: Path, rt: RTReader, rt_server: RequestTracker
) -> None:
    desk, k, other = open_desk(tmp_path), key(), key()
    desk.event(server_room(key=k))
    desk.event(server_room(EventKind.UPDATED, key=k, ts=T0 + 900))
    desk.event(server_room(key=other))
    adapter = rt.adapter()
    adapter.settings = type(adapter.settings)(
        url=rt_server.url, token=rt_server.tokens["gatewatch"], queue="No Such Queue"
    )
    worker = Worker(desk.conn, adapter, lock=desk.lock, clock=time.time, retry=FAST)
    run(worker, 3.0)
    rows = {r.kind + ":" + r.incident_key: r for r in outbox.list_rows(desk.conn)}
    parked = [r for r in rows.values() if r.state == "parked"]
    assert len(parked) == 2 and worker.stats.parked == 2
    assert all("fix `queue`" in r.last_error for r in parked), parked
    assert all("No Such Queue" in r.last_error for r in parked)
    assert rows[f"update:{k}"].state == "pending" and rows[f"update:{k}"].attempts == 0
    assert rt.tickets_for(k) == []
    # the operator fixes the queue and retries: everything goes out, in order
    outbox.retry(desk.conn, None, time.time())
    run(real_clock_worker(desk, rt, rt.url), 30.0, until_empty=True)
    assert outbox.counts(desk.conn) == {"done": 3}
    assert len(rt.comments(desk.ticket(k) or "")) == 2


def test_escalation_to_an_unknown_queue_is_parked(tmp_path: Path, rt: RTReader) -> None:
    desk, k = open_desk(tmp_path), key()
    desk.event(server_room(key=k, priority=2))
    run(real_clock_worker(desk, rt, rt.url), 20.0, until_empty=True)
    with outbox.transaction(desk.conn):
        desk.conn.execute(
            "UPDATE ticket_incidents SET policy = replace(policy, 'Supervisors', 'Nowhere')"
        )
    desk.tick(T0 + 420)
    worker = real_clock_worker(desk, rt, rt.url)
    run(worker, 3.0)
    [row] = [r for r in outbox.list_rows(desk.conn) if r.state == "parked"]
    assert row.kind == "escalate" and "404 from /REST/2.0/queue/Nowhere" in row.last_error


def test_refusal_answered_with_200_is_caught_by_the_read_back(rt: RTReader) -> None:
    """RT answers 200 ["Status 'bogus' isn't a valid status ..."] and changes nothing."""
    adapter = rt.adapter()

    async def go() -> str:
        try:
            ticket = await adapter.create(_create_action())
            with pytest.raises(RejectedError, match="did not take \\['Status'\\]"):
                await adapter._update(ticket, None, None, "bogus")
            return ticket
        finally:
            await adapter.aclose()

    ticket = asyncio.run(go())
    assert rt.ticket(ticket)["Status"] == "new"


def _create_action() -> TicketAction:
    return TicketAction(ActionKind.CREATE, key(), subject="refusal test", text="x", priority=3)
