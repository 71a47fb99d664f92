"""On start the rules evaluate what the store committed after their saved position: the
window a kill -9 leaves between a PUBACK and the outbox commit, without a process."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from gatewatch.core.reading import Reading
from gatewatch.daemon.config.load import load_config
from gatewatch.daemon.run.compose import build
from gatewatch.sensors.store.sqlite import SqliteStore
from gateway_process import ASSETS
from structlog.testing import capture_logs

RULES = Path(__file__).parents[3] / "config" / "rules"


def write_config(tmp_path: Path) -> Path:
    """The shipped rules, no broker (nothing connects), no HTTP."""
    path = tmp_path / "gatewatch.yaml"
    path.write_text(
        f"site: hq\nstate_dir: {tmp_path / 'state'}\nassets: {ASSETS}\n"
        f"mqtt: {{port: 1}}\nhttp: {{enabled: false}}\nrules: {{paths: [{RULES}]}}\n"
    )
    return path


def start_and_stop(path: Path) -> None:
    async def run() -> None:
        daemon = build(load_config(path), path, env={})
        await daemon.start()
        await daemon.stop()

    asyncio.run(run())


def outbox(state_db: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(state_db)) as conn:
        return conn.execute("SELECT incident_key, kind FROM ticket_outbox ORDER BY id").fetchall()


def test_a_stored_reading_the_rules_never_saw_is_evaluated_once_on_start(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    cfg = load_config(path)
    start_and_stop(path)  # a daemon that ran once: schema, cursor
    store = SqliteStore(cfg.store.path, cfg.state_db, journal=True)
    store.write([Reading("hq", "lift-a1", "rope_break", time.time(), 1.0, "")], [])
    store.close()  # committed (so acknowledged), then killed before the rules saw it
    start_and_stop(path)
    first = outbox(cfg.state_db)
    assert [kind for key, kind in first if key.startswith("lift-rope-break")] == ["create"]
    start_and_stop(path)  # the position was saved with the outbox rows: not again
    assert outbox(cfg.state_db) == first


def test_a_damaged_journal_is_named_and_does_not_keep_the_daemon_down(tmp_path: Path) -> None:
    path = write_config(tmp_path)

    async def run() -> None:
        daemon = build(load_config(path), path, env={})
        with closing(sqlite3.connect(tmp_path / "state" / "readings.db")) as conn:
            conn.executescript("DROP TABLE eval_journal; CREATE TABLE eval_journal (seq);")
        await daemon.start()
        await daemon.stop()

    with capture_logs() as logs:
        asyncio.run(run())
    failed = [e for e in logs if e["event"] == "rules_catch_up_failed"]
    assert len(failed) == 1 and "readings" in failed[0]["error"]
    assert any(e["event"] == "gatewatch_stopped" for e in logs)
