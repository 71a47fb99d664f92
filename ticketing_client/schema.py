"""Tables of the ticketing client in the state database (state.db, WAL)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS ticket_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',      -- pending | parked | done
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    created REAL NOT NULL,
    attempt_started REAL,                       -- set (committed) before a create is sent
    last_error TEXT NOT NULL DEFAULT '',
    done_at REAL
);
CREATE INDEX IF NOT EXISTS ticket_outbox_open
    ON ticket_outbox (state, incident_key, id);
CREATE TABLE IF NOT EXISTS ticket_incidents (
    incident_key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL,
    opened_at REAL NOT NULL,
    policy TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    resolved_at REAL,
    reopen_count INTEGER NOT NULL DEFAULT 0,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    acknowledged INTEGER NOT NULL DEFAULT 0,
    last_update REAL NOT NULL DEFAULT 0,
    acknowledged_at REAL                        -- when the desk showed a person took it
);
CREATE INDEX IF NOT EXISTS ticket_incidents_firing
    ON ticket_incidents (status, acknowledged);
CREATE TABLE IF NOT EXISTS ticket_map (
    incident_key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    mapped_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS local_tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_key TEXT NOT NULL,
    subject TEXT NOT NULL,
    priority INTEGER NOT NULL,
    queue TEXT NOT NULL DEFAULT 'General',
    status TEXT NOT NULL DEFAULT 'new',
    owner TEXT NOT NULL DEFAULT '',
    potentially_critical INTEGER NOT NULL DEFAULT 0,
    reopen_count INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS local_tickets_key ON local_tickets (incident_key);
CREATE TABLE IF NOT EXISTS local_ticket_notes (
    ticket_id INTEGER NOT NULL REFERENCES local_tickets (id),
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS local_ticket_notes_ticket ON local_ticket_notes (ticket_id);
CREATE TABLE IF NOT EXISTS local_ticket_attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES local_tickets (id),
    ts REAL NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS local_ticket_attachments_ticket
    ON local_ticket_attachments (ticket_id);
"""


def connect_state(path: Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """The process's connection to state.db: autocommit mode, WAL, ticketing tables."""
    if synchronous not in ("FULL", "NORMAL", "OFF"):
        raise ValueError(f"synchronous must be FULL, NORMAL or OFF, not {synchronous!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    ensure_schema(conn)
    return conn


# columns added after a release: (table, column, declaration), added when missing
ADDED_COLUMNS = (("ticket_incidents", "acknowledged_at", "REAL"),)


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)
    for table, column, decl in ADDED_COLUMNS:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
