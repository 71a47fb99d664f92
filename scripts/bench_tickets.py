#!/usr/bin/env python3
"""Ticketing benchmark: latency, throughput and outage drain against a real RT and a webhook.

    .venv/bin/python scripts/bench_tickets.py [--incidents 100] [--actions 400] [--json]

Starts Request Tracker 5 (tests/rt_server.py) and a webhook receiver on loopback.
Prints numbers and ratios against the desk's own limit measured in the same run
(the same requests sent straight from one httpx client, 8 at a time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "ticketing_client")]

import httpx  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402
from gatewatch.core.events import EventKind  # noqa: E402
from gatewatch.ticketing_client import outbox  # noqa: E402
from gatewatch.ticketing_client.adapters.rt import RequestTrackerAdapter, RTSettings  # noqa: E402
from gatewatch.ticketing_client.adapters.webhook import (  # noqa: E402
    WebhookAdapter,
    WebhookSettings,
    signature,
)
from gatewatch.ticketing_client.retry import RetryPolicy  # noqa: E402
from gatewatch.ticketing_client.schema import connect_state  # noqa: E402
from gatewatch.ticketing_client.worker import Worker  # noqa: E402
from rt_server import QUEUE, RequestTracker  # noqa: E402
from ticket_events import T0, server_room  # noqa: E402
from webhook_receiver import Receiver  # noqa: E402

CONCURRENCY = 8


class Bench:
    def __init__(self, workdir: Path, rt: RequestTracker) -> None:
        self.workdir, self.rt = workdir, rt
        self.lock = threading.Lock()
        self.n = 0

    def fresh_db(self) -> Any:
        self.n += 1
        return connect_state(self.workdir / f"state-{self.n}.db")

    def rt_adapter(self, url: str) -> RequestTrackerAdapter:
        settings = RTSettings(  # the test RT runs 2 Starlet workers
            url=url, token=self.rt.tokens["gatewatch"], queue=QUEUE, max_connections=2
        )
        return RequestTrackerAdapter(settings)

    def worker(self, conn: Any, adapter: Any, retry: RetryPolicy | None = None) -> Worker:
        return Worker(
            conn,
            adapter,
            lock=self.lock,
            concurrency=CONCURRENCY,
            retry=retry,
            poll_interval=0.05,
        )


def enqueue(lock: threading.Lock, conn: Any, event: Any) -> None:
    with lock, outbox.transaction(conn):
        outbox.enqueue(conn, event, now=time.time())


async def run_until_empty(worker: Worker, timeout: float = 900.0) -> float:
    t0 = time.perf_counter()
    worker.start()
    while time.perf_counter() - t0 < timeout:
        await asyncio.sleep(0.02)
        with worker.lock:
            empty = outbox.next_due(worker.conn) is None
        if empty and not worker._inflight:
            break
    elapsed = time.perf_counter() - t0
    await worker.stop()
    return elapsed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def latency(b: Bench, incidents: int, gap: float) -> dict[str, Any]:
    """Event committed to the outbox -> POST /ticket arriving at RT's listener."""
    proxy = FaultProxy(b.rt.port).start()
    conn = b.fresh_db()
    worker = b.worker(conn, b.rt_adapter(proxy.url))
    worker.start()
    run = uuid.uuid4().hex[:6]
    sent: dict[str, float] = {}
    for i in range(incidents):
        key = f"lat-{run}/{i:03d}"
        sent[key] = time.time()
        enqueue(b.lock, conn, server_room(key=key, ts=T0 + i))
        worker.notify()
        await asyncio.sleep(gap)
    while outbox.next_due(conn) is not None or worker._inflight:
        await asyncio.sleep(0.05)
    await worker.stop()
    proxy.stop()
    arrived = {}
    for s in proxy.seen:
        if s.method == "POST" and s.path == "/REST/2.0/ticket":
            key = json.loads(s.body)["CustomFields"]["IncidentKey"]
            arrived[key] = s.at
    first: dict[str, float] = {}  # the idempotency search: the first request per incident
    for s in proxy.seen:
        if s.method == "GET" and s.path.startswith("/REST/2.0/tickets?"):
            key = unquote_plus(s.path).split("= '", 1)[1].split("'", 1)[0]
            first.setdefault(key, s.at)
    return {
        "incidents": incidents,
        "arrival_gap_s": gap,
        **summary("create", [arrived[k] - sent[k] for k in sent]),
        **summary("first_request", [first[k] - sent[k] for k in sent if k in first]),
    }


def summary(name: str, lat: list[float]) -> dict[str, float]:
    return {
        f"{name}_p50_ms": round(pct(lat, 50) * 1000, 1),
        f"{name}_p99_ms": round(pct(lat, 99) * 1000, 1),
        f"{name}_max_ms": round(max(lat) * 1000, 1),
    }


async def webhook_latency(b: Bench, incidents: int, gap: float) -> dict[str, Any]:
    """Event committed to the outbox -> the create event arriving at a webhook receiver."""
    secret = uuid.uuid4().hex
    receiver = Receiver(secret).start()
    arrived: dict[str, float] = {}
    handle = receiver.handle

    def timed(headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        arrived.setdefault(json.loads(body)["incident_key"], time.time())
        return handle(headers, body)

    receiver.handle = timed  # type: ignore[method-assign]
    conn = b.fresh_db()
    worker = b.worker(conn, WebhookAdapter(WebhookSettings(url=receiver.url, secret=secret)))
    worker.start()
    sent: dict[str, float] = {}
    for i in range(incidents):
        key = f"whlat/{i:03d}"
        sent[key] = time.time()
        enqueue(b.lock, conn, server_room(key=key, ts=T0 + i))
        worker.notify()
        await asyncio.sleep(gap)
    while outbox.next_due(conn) is not None or worker._inflight:
        await asyncio.sleep(0.05)
    await worker.stop()
    receiver.stop()
    lat = [arrived[k] - sent[k] for k in sent]
    return {"incidents": incidents, "arrival_gap_s": gap, **summary("create", lat)}


async def rt_throughput(b: Bench, actions: int) -> dict[str, Any]:
    """Update comments on existing tickets, 8 incidents at a time, vs raw REST2 comments."""
    conn = b.fresh_db()
    run = uuid.uuid4().hex[:6]
    keys = [f"tput-{run}/{i:02d}" for i in range(CONCURRENCY * 2)]
    for k in keys:
        enqueue(b.lock, conn, server_room(key=k))
    await run_until_empty(b.worker(conn, b.rt_adapter(b.rt.url)))
    per = actions // len(keys)
    for n in range(1, per + 1):
        for k in keys:
            enqueue(b.lock, conn, server_room(EventKind.UPDATED, key=k, ts=T0 + 900 * n))
    elapsed = await run_until_empty(b.worker(conn, b.rt_adapter(b.rt.url)))
    done = per * len(keys)
    tickets = [outbox.mapped_ticket(conn, k) for k in keys]
    raw = await raw_rate(
        b.rt.url + "/REST/2.0",
        {"Authorization": f"token {b.rt.tokens['gatewatch']}"},
        [
            (
                f"/ticket/{tickets[i % len(tickets)]}/comment",
                {"Content": "raw baseline", "ContentType": "text/plain"},
            )
            for i in range(done // 2)
        ],
        parallel=2,  # as many as RT has workers, like the adapter
    )
    rate = done / elapsed
    return {
        "actions": done,
        "seconds": round(elapsed, 2),
        "actions_per_s": round(rate, 1),
        "raw_rest2_comments_per_s": round(raw, 1),
        "ratio_to_raw": round(rate / raw, 2),
    }


async def raw_rate(
    base: str,
    headers: dict[str, str],
    calls: list[tuple[str, Any]],
    secret: str = "",
    parallel: int = CONCURRENCY,
) -> float:
    """The desk's own limit: the same kind of requests straight from httpx, in parallel."""
    sem = asyncio.Semaphore(parallel)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:

        async def one(path: str, body: Any) -> None:
            data = json.dumps(body).encode()
            extra = {"Content-Type": "application/json"}
            if secret:  # webhook: signed like gatewatch's own requests
                stamp = str(int(time.time()))
                extra["X-Gatewatch-Timestamp"] = stamp
                extra["X-Gatewatch-Signature"] = signature(secret, stamp, data)
            async with sem:
                (await client.post(path, content=data, headers=extra)).raise_for_status()

        t0 = time.perf_counter()
        await asyncio.gather(*(one(p, body) for p, body in calls))
        return len(calls) / (time.perf_counter() - t0)


async def webhook_throughput(b: Bench, actions: int) -> dict[str, Any]:
    receiver = Receiver("bench-secret").start()
    conn = b.fresh_db()
    keys = [f"wh/{i:03d}" for i in range(50)]
    per = max(1, actions // len(keys))
    for k in keys:
        enqueue(b.lock, conn, server_room(key=k))
        for n in range(1, per):
            enqueue(b.lock, conn, server_room(EventKind.UPDATED, key=k, ts=T0 + 900 * n))
    secret = uuid.uuid4().hex
    receiver.secret = secret
    adapter = WebhookAdapter(WebhookSettings(url=receiver.url, secret=secret))
    elapsed = await run_until_empty(b.worker(conn, adapter))
    done = len(receiver.events)
    docs = [
        {"delivery_id": uuid.uuid4().hex, "incident_key": f"raw/{i}", "action": "update"}
        for i in range(done)
    ]
    base = receiver.url.rsplit("/", 1)[0]
    raw = await raw_rate(base, {}, [("/raw", d) for d in docs], secret)
    receiver.stop()
    rate = done / elapsed
    return {
        "actions": done,
        "seconds": round(elapsed, 2),
        "actions_per_s": round(rate, 1),
        "raw_posts_per_s": round(raw, 1),
        "ratio_to_raw": round(rate / raw, 2),
    }


async def outage_drain(b: Bench, actions: int, outage: float) -> dict[str, Any]:
    """1000 actions queue up while RT is unreachable; time to deliver them once it is back."""
    proxy = FaultProxy(b.rt.port).start()
    proxy.down()
    conn = b.fresh_db()
    run = uuid.uuid4().hex[:6]
    keys = [f"outage-{run}/{i:03d}" for i in range(actions // 10)]
    for n in range(10):
        for k in keys:
            kind = EventKind.FIRED if n == 0 else EventKind.UPDATED
            enqueue(b.lock, conn, server_room(kind, key=k, ts=T0 + 900 * n))
    worker = b.worker(conn, b.rt_adapter(proxy.url), RetryPolicy())  # production policy
    worker.start()
    await asyncio.sleep(outage)
    retried = worker.stats.retried
    proxy.up()
    back = time.perf_counter()
    first = None
    while outbox.next_due(conn) is not None or worker._inflight:
        if first is None and worker.stats.delivered:
            first = time.perf_counter() - back
        await asyncio.sleep(0.05)
    total = time.perf_counter() - back
    await worker.stop()
    proxy.stop()
    ok = outbox.counts(conn) == {"done": len(keys) * 10}
    return {
        "actions": len(keys) * 10,
        "outage_s": outage,
        "retries_during_outage": retried,
        "first_delivery_after_s": round(first or 0.0, 2),
        "drain_s": round(total, 2),
        "actions_per_s": round(len(keys) * 10 / total, 1),
        "all_delivered_once": ok,
    }


async def main_async(args: argparse.Namespace, b: Bench) -> dict[str, Any]:
    runs = {
        "latency": ("latency_event_to_rt_create", lambda: latency(b, args.incidents, args.gap)),
        "whlatency": (
            "latency_event_to_webhook_create",
            lambda: webhook_latency(b, args.incidents, 0.1),
        ),
        "rt": ("rt_throughput", lambda: rt_throughput(b, args.actions)),
        "webhook": ("webhook_throughput", lambda: webhook_throughput(b, args.webhook_actions)),
        "drain": ("outage_drain", lambda: outage_drain(b, args.drain_actions, args.outage)),
    }
    out: dict[str, Any] = {}
    for name in args.only.split(","):
        title, run = runs[name]
        out[title] = await run()
        print(f"# {title}: {json.dumps(out[title])}", file=sys.stderr, flush=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--incidents", type=int, default=100)
    p.add_argument("--gap", type=float, default=0.1, help="seconds between incidents")
    p.add_argument("--actions", type=int, default=400)
    p.add_argument("--webhook-actions", type=int, default=2000)
    p.add_argument("--drain-actions", type=int, default=1000)
    p.add_argument("--outage", type=float, default=20.0)
    p.add_argument("--only", default="latency,rt,webhook,drain", help="comma-separated parts")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory() as tmp:
        rt = RequestTracker(Path(tmp) / "rt")
        needs_rt = bool({"latency", "rt", "drain"} & set(args.only.split(",")))
        try:
            if needs_rt:
                httpx_ready(rt.prepare().start())
            result = asyncio.run(main_async(args, Bench(Path(tmp), rt)))
        finally:
            rt.stop()
    if args.json:
        print(json.dumps(result))
    else:
        for section, values in result.items():
            print(section)
            for k, v in values.items():
                print(f"  {k:28} {v}")
    return 0


def httpx_ready(rt: RequestTracker) -> None:
    from rt_client import RTReader

    reader = RTReader(rt.url, rt.tokens["gatewatch"])
    reader.wait_ready()
    reader.close()


if __name__ == "__main__":
    sys.exit(main())
