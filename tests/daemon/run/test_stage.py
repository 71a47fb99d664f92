"""daemon/run/stage.py: a long-lived task of the daemon never dies silently."""

from __future__ import annotations

import asyncio

from gatewatch.daemon.run.stage import Ticker, spawn
from structlog.testing import capture_logs


def test_a_ticker_step_that_raises_is_logged_and_the_next_steps_still_run() -> None:
    calls: list[int] = []

    def step() -> None:
        calls.append(len(calls))
        if len(calls) <= 2:
            raise RuntimeError("a bug in one tick")

    async def main() -> Ticker:
        ticker = Ticker("rules-tick", 0.01, step)
        ticker.start()
        while len(calls) < 5:
            await asyncio.sleep(0.01)
        await ticker.stop()
        return ticker

    with capture_logs() as logs:
        ticker = asyncio.run(main())
    assert ticker.failures == 2 and len(calls) >= 5
    failed = [e for e in logs if e["event"] == "rules-tick_failed"]
    assert [e["failures"] for e in failed] == [1, 2]


def test_a_task_that_dies_is_logged_when_it_dies_not_at_shutdown() -> None:
    async def broken() -> None:
        await asyncio.sleep(0)
        raise OSError("disk gone")

    async def main() -> list[dict[str, object]]:
        with capture_logs() as logs:
            task = spawn(broken(), "prune")
            await asyncio.wait([task])
            await asyncio.sleep(0)  # done callbacks run on the next loop iteration
            seen = list(logs)
        assert isinstance(task.exception(), OSError)
        return seen

    logs = asyncio.run(main())
    died = [e for e in logs if e["event"] == "task_died"]
    assert len(died) == 1 and died[0]["task"] == "prune" and "disk gone" in str(died[0]["error"])


def test_a_cancelled_or_finished_task_is_not_reported() -> None:
    async def forever() -> None:
        await asyncio.sleep(3600)

    async def done() -> None:
        return None

    async def main() -> None:
        cancelled, finished = spawn(forever(), "mqtt"), spawn(done(), "sd-ready")
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.wait([cancelled, finished])
        await asyncio.sleep(0)

    with capture_logs() as logs:
        asyncio.run(main())
    assert [e for e in logs if e["event"] == "task_died"] == []
