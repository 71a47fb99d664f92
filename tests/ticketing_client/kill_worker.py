"""A ticket worker process for the kill -9 test: delivers the outbox of STATE_DB to RT.

usage: kill_worker.py STATE_DB RT_URL TOKEN   (exits 0 when the outbox is empty)
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.adapters.rt import RequestTrackerAdapter, RTSettings
from gatewatch.ticketing_client.retry import RetryPolicy
from gatewatch.ticketing_client.schema import connect_state
from gatewatch.ticketing_client.worker import Worker


async def main(state_db: Path, url: str, token: str) -> None:
    conn = connect_state(state_db)
    settings = RTSettings(
        url=url, token=token, queue="Building Services", timeout=2.0, max_connections=2
    )
    worker = Worker(
        conn,
        RequestTrackerAdapter(settings),
        concurrency=4,
        retry=RetryPolicy(base=0.05, cap=0.5),
        poll_interval=0.05,
    )
    worker.start()
    print("worker started", flush=True)
    while outbox.next_due(conn) is not None or worker._inflight:
        await asyncio.sleep(0.05)
    await worker.stop()
    print(f"drained at {time.time():.3f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3]))
