"""The insert path of the reading store: every reading ends stored, a duplicate or a
dead-lettered conflict, and the write says which.

``readings`` is keyed by (series, millisecond). The batch goes in with one
``executemany``; when every row went in (the common case) that is all. When some did
not, the store rolls the transaction back and writes the batch again row by row, so
each row that hits a taken key is judged on its own (a savepoint instead of the
second try made every write about 30 % slower: its statement journal copies each
page the batch touches):

- a reading with a payload time whose key holds the same value: ``duplicate`` (a QoS 1
  redelivery, or a device re-sending what it sent): counted, kept once;
- one whose key holds another value: ``conflict`` (a device whose clock stepped back,
  two devices on one series): counted and dead-lettered with the series, the time and
  both values;
- a reading without a payload time (``Reading.received``) always stays: it takes the
  next free millisecond of its series (up to ``FREE_SLOT_SEARCH_MS`` later; beyond
  that it is a conflict).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from gatewatch.core.reading import Reading
from gatewatch.sensors.store.base import (
    ALL_STORED,
    CONFLICT,
    DUPLICATE,
    STORED,
    DeadLetter,
    WriteResult,
)

Row = tuple[int, int, float]  # series id, ts in epoch milliseconds, value
INSERT = "INSERT OR IGNORE INTO readings VALUES (?, ?, ?)"
HELD = "SELECT value FROM readings WHERE series_id = ? AND ts = ?"
FREE_SLOT_SEARCH_MS = 1000


class KeyTakenError(Exception):
    """A row of the batch hit a taken key: the transaction must be rolled back and the
    batch written again with ``row_by_row``."""


def insert_readings(
    conn: sqlite3.Connection,
    rows: list[Row],
    readings: Sequence[Reading],
    row_by_row: bool,
    now: float,
) -> tuple[list[Row], WriteResult, list[DeadLetter]]:
    """Insert ``rows`` (one per reading, same order) in the open transaction. Returns the
    rows stored (with the time they were stored at), the fates and the conflicts' dead
    letters, which the caller writes in the same transaction. Without ``row_by_row``
    raises KeyTakenError when not every row went in."""
    if row_by_row:
        return _one_by_one(conn, rows, readings, now)
    before = conn.total_changes
    conn.executemany(INSERT, rows)
    if conn.total_changes - before != len(rows):
        raise KeyTakenError(f"{len(rows) - conn.total_changes + before} rows hit a taken key")
    return rows, ALL_STORED, []


def _one_by_one(
    conn: sqlite3.Connection, rows: list[Row], readings: Sequence[Reading], now: float
) -> tuple[list[Row], WriteResult, list[DeadLetter]]:
    stored: list[Row] = []
    fates: list[str] = []
    dead: list[DeadLetter] = []
    moved: list[tuple[int, float]] = []
    for i, (row, reading) in enumerate(zip(rows, readings, strict=True)):
        if conn.execute(INSERT, row).rowcount:
            stored.append(row)
            fates.append(STORED)
            continue
        sid, ms, value = row
        if reading.received:
            free = _next_free(conn, row)
            if free is not None:
                stored.append(free)
                fates.append(STORED)
                moved.append((i, free[1] / 1000))
                continue
        (held,) = conn.execute(HELD, (sid, ms)).fetchone()
        if held == value and not reading.received:
            fates.append(DUPLICATE)
            continue
        fates.append(CONFLICT)
        dead.append(conflict_letter(reading, ms, held, now))
    return stored, WriteResult(tuple(fates), tuple(moved)), dead


def _next_free(conn: sqlite3.Connection, row: Row) -> Row | None:
    sid, ms, value = row
    for later in range(ms + 1, ms + FREE_SLOT_SEARCH_MS + 1):
        if conn.execute(INSERT, (sid, later, value)).rowcount:
            return (sid, later, value)
    return None


def conflict_letter(reading: Reading, ms: int, held: float, now: float) -> DeadLetter:
    """The dead letter of a reading refused because its series and time hold another
    value. Its ``topic`` is the series (site/asset/metric); the payload is the reading."""
    at = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
    series = str(reading.key)
    payload = json.dumps({"series": series, "ts": ms / 1000, "value": reading.value})
    detail = (
        f"{series} at {at} already holds {held}, this reading says {reading.value}; "
        "a device clock that stepped back, or two devices publishing one series"
    )
    return DeadLetter(now, series, payload.encode(), CONFLICT, detail)
