"""daemon/ops/health.py: checks, the report, the broker link, the store probe."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

from gatewatch.daemon.ops.health import (
    BrokerLink,
    CheckResult,
    HealthReport,
    StoreHealth,
    evaluate,
    store_check,
)


def failing() -> CheckResult:
    raise RuntimeError("boom")


def test_report_is_503_naming_every_failing_check() -> None:
    report = evaluate(
        [
            ("broker", lambda: CheckResult("broker", False, "refused")),
            ("store", lambda: CheckResult("store", True, "writable")),
            ("outbox", failing),
        ]
    )
    assert report.http_status == 503
    assert report.failing == ["broker", "outbox"]
    body = json.loads(report.to_json())
    assert body["checks"]["outbox"] == {"ok": False, "detail": "check raised RuntimeError('boom')"}
    assert body["checks"]["store"]["ok"] is True


def test_no_checks_is_healthy() -> None:
    assert HealthReport(()).http_status == 200


def test_broker_link_follows_subscriber_states() -> None:
    now = [100.0]
    link = BrokerLink(clock=lambda: now[0])
    seen: list[bool] = []
    link.listeners.append(seen.append)
    assert link.check() == CheckResult("broker", False, "not connected for 0s: not connected yet")
    link("up", {"session_present": False})
    assert link.check().ok
    now[0] = 130.0
    link("down", {"error": "Connection refused"})
    now[0] = 142.0
    assert link.check() == CheckResult("broker", False, "not connected for 12s: Connection refused")
    assert seen == [True, False]
    assert link.connects == 1


def test_store_check(tmp_path: Path) -> None:
    db = tmp_path / "readings.db"
    assert store_check([db]) == CheckResult("store", False, f"{db}: database file is missing")
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE t (x)")
    assert store_check([db]).ok
    (tmp_path / "garbage.db").write_bytes(b"not a database at all" * 100)
    result = store_check([db, tmp_path / "garbage.db"])
    assert not result.ok
    assert "garbage.db: cannot start a write" in result.detail


def test_store_health_trusts_commits_and_probes_only_when_idle(tmp_path: Path) -> None:
    db = tmp_path / "readings.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE t (x)")
    writer = SimpleNamespace(commits=0, failures=0, last_error=None)
    health = StoreHealth(writer, [db], probe_timeout=0.05)
    with closing(sqlite3.connect(db, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        assert "locked" in health.check().detail  # idle writer: the probe finds it
        writer.commits = 1
        assert health.check() == CheckResult("store", True, "writable")  # a commit is proof
        other.execute("ROLLBACK")
    writer.failures = 3
    assert health.check() == CheckResult(
        "store", False, "3 failed store writes since the last commit"
    )
    writer.last_error = "database or disk is full (SQLITE_FULL): free space"
    detail = health.check().detail
    assert detail.endswith("; last: database or disk is full (SQLITE_FULL): free space")
    writer.commits = 2
    assert health.check().ok
    assert health.check().ok  # idle again, probe passes
