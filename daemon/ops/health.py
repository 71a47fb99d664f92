"""Health checks behind /healthz: the broker link, a writable store, more by plug-in.

A check is a function returning a ``CheckResult``; /healthz answers 200 when
every check passes and 503 otherwise, with a JSON body naming each check and
what is wrong. Checks are called from the HTTP server thread, so they read
state the event loop owns only through atomic attribute reads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gatewatch.sensors.mqtt.linkstats import LinkStats


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


HealthCheck = Callable[[], CheckResult]


@dataclass(frozen=True, slots=True)
class HealthReport:
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failing(self) -> list[str]:
        return [c.name for c in self.checks if not c.ok]

    @property
    def http_status(self) -> int:
        return 200 if self.ok else 503

    def to_json(self) -> bytes:
        body = {
            "ok": self.ok,
            "failing": self.failing,
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
        }
        return json.dumps(body, sort_keys=True).encode()


def evaluate(checks: Iterable[tuple[str, HealthCheck]]) -> HealthReport:
    """Run every check; one that raises fails with the error as its detail."""
    results = []
    for name, check in checks:
        try:
            results.append(check())
        except Exception as exc:
            results.append(CheckResult(name, False, f"check raised {exc!r}"))
    return HealthReport(tuple(results))


class BrokerLink:
    """The MQTT connection state, fed by ``MqttSubscriber.on_state``."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.connected = False
        self.since = clock()
        self.error = "not connected yet"
        self.connects = 0
        self.stats = LinkStats()  # the subscriber's, once it reports
        self.listeners: list[Callable[[bool], None]] = []

    def __call__(self, state: str, info: dict[str, Any]) -> None:
        up = state == "up"
        if isinstance(info.get("stats"), LinkStats):
            self.stats = info["stats"]
        if up:
            self.connects += 1
        self.error = "" if up else str(info.get("error", state))
        if up != self.connected:
            self.connected, self.since = up, self.clock()
        for listener in self.listeners:
            listener(up)

    def check(self) -> CheckResult:
        if self.connected and self.stats.flapping:
            return CheckResult(
                "broker",
                False,
                f"connected, but the session keeps being taken over or dropped "
                f"({self.stats.takeovers} takeovers): another client likely uses our "
                "client id; give every gateway its own mqtt.client_id",
            )
        if self.connected:
            return CheckResult("broker", True, "connected")
        down_for = max(0.0, self.clock() - self.since)
        return CheckResult("broker", False, f"not connected for {down_for:.0f}s: {self.error}")


def store_check(paths: Sequence[Path], timeout: float = 1.0) -> CheckResult:
    """Can a write transaction start on every store database within ``timeout``?

    ``BEGIN IMMEDIATE`` takes SQLite's write lock without writing anything,
    so it fails on a read-only or missing file and on a lock held elsewhere.
    """
    for path in paths:
        problem = _write_lock_problem(path, timeout)
        if problem:
            return CheckResult("store", False, f"{path}: {problem}")
    return CheckResult("store", True, "writable")


def _write_lock_problem(path: Path, timeout: float) -> str:
    if not path.is_file():
        return "database file is missing"
    try:
        uri = f"file:{path}?mode=rw"
        with closing(sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return f"cannot start a write: {exc}"
    return ""


class WriterProgress(Protocol):
    commits: int
    failures: int

    @property
    def last_error(self) -> object | None:
        """The last failed write (its str says what and how to fix); None after a commit."""


class StoreHealth:
    """The store check, without contending with a busy writer.

    A commit since the last check proves the store takes writes, so the
    probe runs only when the writer has been idle (where a lock held by
    another process or a read-only file would otherwise go unnoticed) and a
    long group commit cannot make /healthz flap. Failed write attempts with
    no commit since fail the check with the writer's count.
    """

    def __init__(
        self, writer: WriterProgress, paths: Sequence[Path], probe_timeout: float = 1.0
    ) -> None:
        self.writer = writer
        self.paths = list(paths)
        self.probe_timeout = probe_timeout
        self._commits = writer.commits
        self._failures = writer.failures
        self._lock = threading.Lock()  # /healthz and /metrics run on server threads

    def check(self) -> CheckResult:
        with self._lock:
            commits, failures = self.writer.commits, self.writer.failures
            committed, failed = commits != self._commits, failures - self._failures
            if committed:
                self._commits, self._failures = commits, failures
        if committed:
            return CheckResult("store", True, "writable")
        if failed:
            error = self.writer.last_error
            cause = f"; last: {error}" if error is not None else ""
            return CheckResult(
                "store", False, f"{failed} failed store writes since the last commit{cause}"
            )
        return store_check(self.paths, self.probe_timeout)
