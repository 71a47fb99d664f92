"""Reading the dead letters back: what ingest refused, and why.

They live in ``dead_letters`` of state.db (written by SqliteStore in the transaction of
their batch, the newest ``DEAD_LETTER_KEEP`` kept). ``open_dead_letters`` attaches
state.db read-only as ``state``, the name the writer uses, so a running daemon is
never disturbed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class StoredDeadLetter:
    id: int
    received_at: float
    topic: str  # for a ``conflict``: the series, site/asset/metric
    payload: bytes  # the first bytes of the payload
    reason: str
    detail: str


SELECT = "SELECT id, received_at, topic, payload, reason, detail FROM state.dead_letters"
RECENT = (
    SELECT + " WHERE (?1 IS NULL OR reason = ?1) AND (?2 IS NULL OR instr(topic, ?2) > 0)"
    " ORDER BY id DESC LIMIT ?3"
)
ONE = SELECT + " WHERE id = ?"


class NoDeadLettersError(Exception):
    """The state database is missing, or ingest never wrote to it."""


def open_dead_letters(state_path: Path) -> sqlite3.Connection:
    if not state_path.exists():
        raise NoDeadLettersError(f"no state database at {state_path}; check --state-db/--config")
    conn = sqlite3.connect(":memory:", uri=True)
    conn.execute("ATTACH DATABASE ? AS state", (f"file:{state_path}?mode=ro",))
    tables = conn.execute("SELECT name FROM state.sqlite_master WHERE name = 'dead_letters'")
    if tables.fetchone() is None:
        conn.close()
        raise NoDeadLettersError(f"{state_path} has no dead letters: ingest never ran with it")
    return conn


def recent(
    conn: sqlite3.Connection,
    *,
    reason: str | None = None,
    topic: str | None = None,
    limit: int = 50,
) -> list[StoredDeadLetter]:
    """The newest first; ``topic`` matches a part of the topic."""
    rows = conn.execute(RECENT, (reason, topic, limit))
    return [StoredDeadLetter(*row) for row in rows]


def one(conn: sqlite3.Connection, letter_id: int) -> StoredDeadLetter | None:
    row = conn.execute(ONE, (letter_id,)).fetchone()
    return None if row is None else StoredDeadLetter(*row)
