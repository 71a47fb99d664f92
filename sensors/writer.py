"""The store writer thread: group commit, then report what is durable.

Batches queue here from the event loop; the thread writes everything queued
in one transaction (group commit), then calls ``on_durable`` for each batch
so the ingest stage can acknowledge the QoS 1 messages behind it; each batch then
holds only its readings the store kept, and counts the duplicates and conflicts. A failing
store is retried with backoff and nothing is acknowledged meanwhile, so the
broker keeps the messages and ingest slows down instead of losing data.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import structlog
from gatewatch.core.reading import Reading
from gatewatch.sensors.store.base import (
    CONFLICT,
    DUPLICATE,
    STORED,
    DeadLetter,
    Store,
    WriteResult,
)
from gatewatch.sensors.store.errors import StoreError, describe

log = structlog.get_logger("gatewatch.writer")


@dataclass(slots=True)
class Batch:
    readings: list[Reading] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    acks: list[int] = field(default_factory=list)
    connection: Any = None  # the MQTT connection the acks belong to
    messages: int = 0
    durable_at: float = 0.0
    # once durable: ``readings`` holds only those stored; the others were these
    duplicates: int = 0
    conflicts: int = 0
    position: tuple[int, int] | None = None  # in the evaluation journal, once durable

    def __len__(self) -> int:
        return self.messages


class StoreWriter:
    def __init__(
        self,
        store: Store,
        on_durable: Callable[[list[Batch]], None],
        *,
        max_group: int = 50_000,
        retry_min: float = 0.5,
        retry_max: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.on_durable = on_durable
        self.max_group = max_group
        self.retry_min, self.retry_max = retry_min, retry_max
        self.clock = clock
        self.failures = 0
        self.failure_reasons: Counter[str] = Counter()  # failed attempts by StoreError.reason
        self.last_error: StoreError | None = None  # the last failure; None after a commit
        self.commits = 0
        self._q: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, batch: Batch) -> None:
        self._q.put(batch)

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread."""
        self._q.put(None)
        self._thread.join(timeout)
        self._stopping.set()

    def _take(self) -> tuple[list[Batch], bool]:
        first = self._q.get()
        if first is None:
            return [], True
        group, size = [first], len(first.readings)
        while size < self.max_group:
            try:
                nxt = self._q.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                return group, True
            group.append(nxt)
            size += len(nxt.readings)
        return group, False

    def _run(self) -> None:
        done = False
        while not done:
            group, done = self._take()
            if group:
                self._write(group)

    def _write(self, group: list[Batch]) -> None:
        readings = [r for b in group for r in b.readings]
        dead = [d for b in group for d in b.dead]
        delay = self.retry_min
        while True:
            try:
                result = self.store.write(readings, dead)
                break
            except Exception as exc:
                self._failed(describe(exc), len(readings), delay)
                if self._stopping.wait(delay):
                    log.error(
                        "store_write_abandoned_on_stop",
                        readings=len(readings),
                        note="not acknowledged; the broker will redeliver",
                    )
                    return
                delay = min(delay * 2, self.retry_max)
        self.commits += 1
        self.last_error = None
        if result.fates is not None:
            apportion(group, result)
        now = self.clock()
        offset = 0
        for b in group:
            b.durable_at = now
            offset += len(b.readings)
            b.position = None if result.journal_seq is None else (result.journal_seq, offset)
        self.on_durable(group)

    def _failed(self, error: StoreError, readings: int, delay: float) -> None:
        self.failure_reasons[error.reason] += 1
        self.last_error = error
        self.failures += 1  # last: a reader that sees the count sees the error
        log.error(
            "store_write_failed",
            reason=error.reason,
            error=error.message,
            sqlite_error=error.code,
            remedy=error.remedy,
            readings=readings,
            retry_in=delay,
            note="nothing of this batch is acknowledged; retried",
        )


def apportion(group: list[Batch], result: WriteResult) -> None:
    """Give each batch its share of a group write's result: keep the readings stored (at
    the time they were stored), count the duplicates and conflicts."""
    assert result.fates is not None
    fates, moved = result.fates, dict(result.moved)
    start = 0
    for b in group:
        mine = fates[start : start + len(b.readings)]
        kept = []
        for i, (r, fate) in enumerate(zip(b.readings, mine, strict=True), start):
            if fate == STORED:
                kept.append(r if i not in moved else replace(r, ts=moved[i]))
        start += len(b.readings)
        b.readings = kept
        b.duplicates, b.conflicts = mine.count(DUPLICATE), mine.count(CONFLICT)
