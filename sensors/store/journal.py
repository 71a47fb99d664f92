"""The evaluation journal: readings the store committed that the rules may not have seen.

A PUBACK goes out once the readings are durable, before the rules evaluate
them and before the outbox commits their incidents; a kill -9 in between
would lose an incident whose readings are stored and acknowledged (the broker
never redelivers them). So each store transaction also appends its readings
to ``eval_journal`` in ``readings.db`` (one row per transaction, atomic with
the readings), and the rules commit how far they got, the ``eval_cursor`` in
``state.db``, in the same transaction as their outbox rows and engine state.
On start the daemon re-evaluates every journalled reading after the cursor.
Rows before the cursor are deleted by the next store transaction.

A position is ``(seq, offset)``: journal row ``seq``, its first ``offset``
readings evaluated.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gatewatch.core.reading import Reading

SCHEMA = """
CREATE TABLE IF NOT EXISTS eval_journal (seq INTEGER PRIMARY KEY, readings BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS state.eval_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, "offset" INTEGER NOT NULL
);
"""
CURSOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS {schema}.eval_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, "offset" INTEGER NOT NULL
)
"""
Position = tuple[int, int]  # (journal seq, readings of that row already evaluated)
Row = tuple[int, int, float]  # series id, ts in epoch milliseconds, value
SeriesNames = dict[int, tuple[str, str, str, str | None]]  # series id -> site, asset, metric, unit


@dataclass(slots=True)
class JournalCursor:
    """The position of the readings handed to the rules so far. Ingest moves it before it
    hands a durable batch on; the rules write it with their state. One thread only."""

    at: Position = (0, 0)


def encode(rows: Sequence[Row], readings: Sequence[Reading]) -> bytes:
    """Four packed columns: series ids (int64), times as stored, values (float64), flags
    (received, backlog); ``rows`` are the stored (series id, ms, value) of ``readings``."""
    ids = array("q", [row[0] for row in rows])
    ts = array("d", [row[1] / 1000 for row in rows])
    values = array("d", [row[2] for row in rows])
    flags = array("b", [r.received | r.backlog << 1 for r in readings])
    return ids.tobytes() + ts.tobytes() + values.tobytes() + flags.tobytes()


def decode(blob: bytes, names: SeriesNames) -> list[Reading]:
    """The readings of one row; those of a series id ``names`` lacks are left out."""
    n = len(blob) // 25
    ids, ts, values, flags = array("q"), array("d"), array("d"), array("b")
    ids.frombytes(blob[: 8 * n])
    ts.frombytes(blob[8 * n : 16 * n])
    values.frombytes(blob[16 * n : 24 * n])
    flags.frombytes(blob[24 * n : 25 * n])
    out = []
    for sid, t, v, f in zip(ids, ts, values, flags, strict=True):
        name = names.get(sid)
        if name is not None:
            site, asset, metric, unit = name
            out.append(Reading(site, asset, metric, t, v, unit, bool(f & 1), bool(f & 2)))
    return out


def append(conn: sqlite3.Connection, rows: Sequence[Row], readings: Sequence[Reading]) -> int:
    """Journal one transaction's stored readings (inside it); drop rows the rules are past."""
    cur = conn.execute("INSERT INTO eval_journal (readings) VALUES (?)", (encode(rows, readings),))
    conn.execute(
        "DELETE FROM eval_journal WHERE seq < (SELECT seq FROM state.eval_cursor WHERE id = 1)"
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def reconcile(conn: sqlite3.Connection) -> bool:
    """At store open: a cursor into a journal that is not this one (readings.db replaced or
    moved aside, state.db kept) is reset, else it would hide, and prune, every new row. The
    row under a cursor is never pruned, so a missing one means another journal. Returns
    whether it reset the cursor."""
    seq, _ = load_cursor(conn, "state")
    if seq == 0 or conn.execute("SELECT 1 FROM eval_journal WHERE seq = ?", (seq,)).fetchone():
        return False
    conn.execute("DELETE FROM state.eval_cursor")
    return True


def ensure_cursor_schema(conn: sqlite3.Connection, schema: str = "main") -> None:
    conn.execute(CURSOR_SCHEMA.format(schema=schema))


def save_cursor(conn: sqlite3.Connection, at: Position) -> None:
    """Inside the caller's transaction (the outbox rows and engine state of these readings)."""
    conn.execute(
        'INSERT INTO eval_cursor (id, seq, "offset") VALUES (1, ?, ?)'
        ' ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, "offset" = excluded."offset"',
        at,
    )


def load_cursor(conn: sqlite3.Connection, schema: str = "main") -> Position:
    try:
        row = conn.execute(
            f'SELECT seq, "offset" FROM {schema}.eval_cursor WHERE id = 1'  # noqa: S608
        ).fetchone()
    except sqlite3.OperationalError:  # no table yet: nothing was ever evaluated
        return (0, 0)
    return (int(row[0]), int(row[1])) if row else (0, 0)


def unevaluated(conn: sqlite3.Connection) -> Iterator[tuple[Position, list[Reading]]]:
    """Journalled readings after the cursor, one row at a time with its end position
    (``conn``: readings.db with state.db attached as ``state``)."""
    seq0, offset0 = load_cursor(conn, "state")
    names: SeriesNames = {
        sid: (site, asset, metric, unit)
        for sid, site, asset, metric, unit in conn.execute(
            "SELECT id, site, asset, metric, unit FROM series"
        )
    }
    rows = conn.execute(
        "SELECT seq, readings FROM eval_journal WHERE seq >= ? ORDER BY seq", (seq0,)
    )
    for seq, blob in rows:
        readings = decode(blob, names)
        skip = offset0 if seq == seq0 else 0
        if len(readings) > skip:
            yield (seq, len(readings)), readings[skip:]
