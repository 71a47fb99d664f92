"""Rule engine state in the state database, saved incrementally.

Two tables. ``rule_state`` (one row) holds the alerts, timers, site times,
repetition logs and composite members: small, and rewritten whenever it
changes, in the caller's transaction, so the daemon writes it together with
the outbox rows of the events it produced (DESIGN.md: a kill -9 at any moment
neither loses nor duplicates a ticket). ``rule_series`` holds one row per
series the rules are bound to (last values, the history rate and trend need):
that is nearly all of the bytes, so it is written at a bounded rate
(``series_every``, and on ``flush``: at stop), and then only the rows whose
content changed. A crash loses at most ``series_every`` seconds of series
history, never an alert; the next readings refill it.

    store = RuleStateStore(series_every=60)
    store.save(conn, engine, now)               # inside the caller's transaction
    store.save(conn, engine, now, flush=True)   # on the way out
    data = load_engine_state(conn)              # the engine's export_state document

A state database from before (the whole document in ``rule_state``) loads as
it is; the first save moves its series into ``rule_series``.
"""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Any

from gatewatch.rules.engine import Engine

SCHEMA = """
CREATE TABLE IF NOT EXISTS rule_state (
    id INTEGER PRIMARY KEY CHECK (id = 1), saved_at REAL NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rule_series (
    site TEXT NOT NULL, asset TEXT NOT NULL, metric TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (site, asset, metric)
) WITHOUT ROWID
"""
SeriesKey = tuple[str, str, str]


def ensure_schema(conn: sqlite3.Connection, schema: str = "main") -> None:
    for statement in SCHEMA.split(";"):
        table = "rule_series" if "rule_series" in statement else "rule_state"
        conn.execute(statement.replace(table, f"{schema}.{table}", 1))


def _dumps(data: object) -> str:
    return json.dumps(data, separators=(",", ":"), allow_nan=False)


class RuleStateStore:
    """Writes what changed since its last save; counts the bytes it wrote.

    It remembers a hash of each row as it last wrote it (8 bytes a series, not
    the rows), and trusts nothing about the database until its first series
    pass, which rewrites every row and drops the rows of series that are gone.
    """

    def __init__(self, *, series_every: float = 60.0, schema: str = "main") -> None:
        self.series_every, self.schema = series_every, schema
        self.bytes_written = 0  # JSON bytes handed to SQLite (core + series rows)
        self.rows_written = 0
        self._core: int | None = None
        self._rows: dict[SeriesKey, int] | None = None  # None: not read from the db yet
        self._series_at = -math.inf

    def save(
        self, conn: sqlite3.Connection, engine: Engine, now: float, *, flush: bool = False
    ) -> int:
        """Write what changed (the series only when due or on ``flush``); returns the
        bytes written. The caller owns the transaction."""
        written = 0
        if flush or now - self._series_at >= self.series_every:
            doc = engine.export_state()
            written += self._save_series(conn, doc.pop("series"))
            self._series_at = now
        else:
            doc = engine.export_state(series=False)
            del doc["series"]
        data = _dumps(doc)
        if hash(data) != self._core:
            conn.execute(
                f"INSERT INTO {self.schema}.rule_state (id, saved_at, data)"  # noqa: S608
                " VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE"
                " SET saved_at = excluded.saved_at, data = excluded.data",
                (now, data),
            )
            self._core = hash(data)
            written += len(data)
        self.bytes_written += written
        return written

    def forget(self) -> None:
        """The transaction of a save did not commit: trust nothing, rewrite all next time."""
        self._core, self._rows, self._series_at = None, None, -math.inf

    def _save_series(self, conn: sqlite3.Connection, series: list[dict[str, Any]]) -> int:
        table = f"{self.schema}.rule_series"
        if self._rows is None:
            rows = conn.execute(f"SELECT site, asset, metric FROM {table}")  # noqa: S608
            self._rows = dict.fromkeys(map(tuple, rows), 0)  # 0: content unknown, rewrite
        before, now_rows = self._rows, {}
        changed: list[tuple[str, str, str, str]] = []
        for item in series:
            key = (item["site"], item["asset"], item["metric"])
            data = _dumps(item)
            now_rows[key] = h = hash(data)
            if before.get(key) != h:
                changed.append((*key, data))
        gone = [key for key in before if key not in now_rows]
        conn.executemany(
            f"INSERT INTO {table} (site, asset, metric, data) VALUES (?, ?, ?, ?)"  # noqa: S608
            " ON CONFLICT (site, asset, metric) DO UPDATE SET data = excluded.data",
            changed,
        )
        conn.executemany(
            f"DELETE FROM {table} WHERE site = ? AND asset = ? AND metric = ?",  # noqa: S608
            gone,
        )
        self._rows = now_rows
        self.rows_written += len(changed)
        return sum(len(row[3]) for row in changed)


def save_engine_state(
    conn: sqlite3.Connection, engine: Engine, now: float, schema: str = "main"
) -> int:
    """Write the whole state now (a one-off save); returns the bytes written."""
    return RuleStateStore(schema=schema).save(conn, engine, now, flush=True)


def load_engine_state(conn: sqlite3.Connection, schema: str = "main") -> dict[str, Any] | None:
    """The engine's ``export_state`` document, or None (none saved, or damaged: the
    caller starts fresh rather than crash). A damaged series row is left out."""
    row = conn.execute(f"SELECT data FROM {schema}.rule_state WHERE id = 1").fetchone()  # noqa: S608
    if row is None:
        return None
    try:
        data = json.loads(row[0])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    series = data.get("series")
    series = series if isinstance(series, list) else []  # a document from before
    for (text,) in conn.execute(f"SELECT data FROM {schema}.rule_series"):  # noqa: S608
        try:
            series.append(json.loads(text))
        except ValueError:
            continue
    data["series"] = series
    return data
