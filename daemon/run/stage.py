"""What a stage of the daemon is, and the one order the stages start and stop in.

A stage starts (it may restore state or wait for its worker), hears that the
drain begins, and stops. :class:`Lifecycle` starts the stages in the order
given (a sink before its sources) and stops the started ones in exactly the
reverse order, so nothing read is dropped on the floor; ``trail`` records
both. If a start fails, the stages already started stop (in reverse) before
the error goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol, TypeVar

import structlog

log = structlog.get_logger("gatewatch.daemon")
T = TypeVar("T")


class Stage(Protocol):
    @property
    def name(self) -> str:
        """Short and stable: it names the stage in ``Lifecycle.trail``."""

    async def start(self) -> None:
        """Take up the work; the stages after it (its sources) are not started yet."""

    def draining(self) -> None:
        """Stop requested: told to every stage before the first one stops."""

    async def stop(self) -> None:
        """Finish: the stages after it (its sources) have stopped already."""


class Lifecycle:
    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = tuple(stages)
        self.trail: list[str] = []  # "start <name>" / "stop <name>", as it happened
        self._started: list[Stage] = []

    async def start(self) -> None:
        for stage in self.stages:
            try:
                await stage.start()
            except BaseException:
                await self.stop()
                raise
            self._started.append(stage)
            self.trail.append(f"start {stage.name}")
            log.info("stage_started", stage=stage.name)

    async def stop(self) -> None:
        started, self._started = self._started[::-1], []
        for stage in started:
            stage.draining()
        for stage in started:
            log.info("stage_stopping", stage=stage.name)  # a stop that hangs names its stage
            await stage.stop()
            self.trail.append(f"stop {stage.name}")


def spawn(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    """A long-lived task of the daemon: if it ever ends by an exception, the end is
    logged (``task_died``, with the traceback) when it happens, not at shutdown."""
    task = asyncio.get_running_loop().create_task(coro, name=name)
    task.add_done_callback(_report_death)
    return task


def _report_death(task: asyncio.Task[None]) -> None:
    if task.cancelled() or (error := task.exception()) is None:
        return
    log.error("task_died", task=task.get_name(), error=repr(error), exc_info=error)


class Ticker:
    """``step`` every ``every`` seconds on the event loop, from start to stop. A step
    that raises is logged (``<name>_failed``) and the next one runs on time."""

    def __init__(self, name: str, every: float, step: Callable[[], object]) -> None:
        self.name, self.every, self.step = name, every, step
        self.failures = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = spawn(self._run(), self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                self.step()
            except Exception:
                self.failures += 1
                log.exception(f"{self.name}_failed", failures=self.failures)


def guarded(step: Callable[[], list[T]], failed: str) -> list[T]:
    """``step()``, or [] with the traceback logged as ``failed``: a bug in a stage
    must not stop ingest."""
    try:
        return step()
    except Exception:
        log.exception(failed)
        return []
