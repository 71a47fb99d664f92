"""Rule engine state in the state database (one JSON document, replaced atomically).

``save_engine_state`` takes the caller's connection so the daemon can write
it in the same transaction as the outbox rows of the events it produced
(DESIGN.md: a kill -9 at any moment neither loses nor duplicates a ticket).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from gatewatch.rules.engine import Engine

SCHEMA = """
CREATE TABLE IF NOT EXISTS rule_state (
    id INTEGER PRIMARY KEY CHECK (id = 1), saved_at REAL NOT NULL, data TEXT NOT NULL
)
"""


def ensure_schema(conn: sqlite3.Connection, schema: str = "main") -> None:
    conn.execute(SCHEMA.replace("rule_state", f"{schema}.rule_state", 1))


def save_engine_state(
    conn: sqlite3.Connection, engine: Engine, now: float, schema: str = "main"
) -> int:
    """Upsert the engine's state; returns the size in bytes. The caller owns the transaction."""
    data = json.dumps(engine.export_state(), separators=(",", ":"), allow_nan=False)
    conn.execute(
        f"INSERT INTO {schema}.rule_state (id, saved_at, data) VALUES (1, ?, ?)"  # noqa: S608
        " ON CONFLICT (id) DO UPDATE SET saved_at = excluded.saved_at, data = excluded.data",
        (now, data),
    )
    return len(data)


def load_engine_state(conn: sqlite3.Connection, schema: str = "main") -> dict[str, Any] | None:
    row = conn.execute(f"SELECT data FROM {schema}.rule_state WHERE id = 1").fetchone()  # noqa: S608
    if row is None:
        return None
    try:
        data = json.loads(row[0])
    except ValueError:
        return None  # a damaged blob: start fresh rather than crash (counted by the caller)
    return data if isinstance(data, dict) else None
