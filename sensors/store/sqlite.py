"""Embedded time-series store on SQLite (WAL).

Schema: ``series`` (id <-> site/asset/metric/unit) and ``readings`` keyed by
``(series_id, ts_ms)`` WITHOUT ROWID, so a range read of one series is one
index seek; what a taken key makes of a reading (duplicate, conflict, the next free
millisecond) is sensors/store/insert.py. When
forwarding to InfluxDB is on, each write also appends to ``forward_queue``
in the same transaction (store-and-forward); with rules, to the evaluation
journal (``journal.py``). Dead letters live in the state
database, attached as ``state`` so a batch commits both.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import replace
from pathlib import Path

from gatewatch.core.reading import Reading, SeriesKey
from gatewatch.sensors.store import journal as eval_journal
from gatewatch.sensors.store.base import STORED, DeadLetter, WriteResult
from gatewatch.sensors.store.errors import roll_back
from gatewatch.sensors.store.insert import KeyTakenError, insert_readings

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL, asset TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT,
    UNIQUE (site, asset, metric)
);
CREATE TABLE IF NOT EXISTS readings (
    series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forward_queue (
    seq INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, ts INTEGER NOT NULL,
    value REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS state.dead_letters (
    id INTEGER PRIMARY KEY, received_at REAL NOT NULL, topic TEXT NOT NULL,
    payload BLOB NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS state.dead_letters_reason ON dead_letters (reason);
"""
DEAD_LETTER_KEEP = 100_000
CACHE_KIB = 32_768  # page cache of the writer connection


def connect(path: Path, state_path: Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    state_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    # Every series has a hot tail page in the readings b-tree; a cache that holds
    # them saves re-reading pages on each batch (ingest benchmark: ~20% less CPU
    # per row with 1000 series). Pages are only allocated as they are used.
    conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    conn.execute("ATTACH DATABASE ? AS state", (str(state_path),))
    conn.execute("PRAGMA state.journal_mode=WAL")
    conn.execute(f"PRAGMA state.synchronous={synchronous}")
    conn.executescript(SCHEMA)
    return conn


class SqliteStore:
    """The local store. ``write`` is called from one writer thread only."""

    def __init__(
        self,
        path: Path,
        state_path: Path,
        *,
        retention_days: float = 400.0,
        forward: bool = False,
        journal: bool = False,
        synchronous: str = "FULL",
        clock: Callable[[], float] = time.time,  # received_at of a conflict's dead letter
    ) -> None:
        if synchronous not in ("FULL", "NORMAL", "OFF"):
            raise ValueError(f"synchronous must be FULL, NORMAL or OFF, not {synchronous!r}")
        self.path, self.state_path = path, state_path
        self.retention_days = retention_days
        self.forward, self.journal = forward, journal
        self.clock = clock
        self._conn = connect(path, state_path, synchronous=synchronous)
        if journal:
            self._conn.executescript(eval_journal.SCHEMA)
            eval_journal.reconcile(self._conn)
        self._lock = threading.Lock()
        self._ids: dict[tuple[str, str, str], int] = {}
        self._load_ids()

    def _load_ids(self) -> None:
        rows = self._conn.execute("SELECT id, site, asset, metric FROM series")
        self._ids = {(site, asset, metric): sid for sid, site, asset, metric in rows}

    def _series_id(self, r: Reading) -> int:
        key = (r.site, r.asset, r.metric)
        sid = self._ids.get(key)
        if sid is None:
            self._conn.execute(
                "INSERT OR IGNORE INTO series (site, asset, metric, unit) VALUES (?, ?, ?, ?)",
                (r.site, r.asset, r.metric, r.unit),
            )
            row = self._conn.execute(
                "SELECT id FROM series WHERE site = ? AND asset = ? AND metric = ?", key
            ).fetchone()
            sid = self._ids[key] = int(row[0])
        return sid

    def write(self, readings: Sequence[Reading], dead: Sequence[DeadLetter]) -> WriteResult:
        try:
            return self._write(readings, dead, row_by_row=False)
        except KeyTakenError:  # rolled back: again, judging each reading on its own
            return self._write(readings, dead, row_by_row=True)

    def _write(
        self, readings: Sequence[Reading], dead: Sequence[DeadLetter], *, row_by_row: bool
    ) -> WriteResult:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                ids = self._ids
                rows = [
                    (
                        ids.get((r.site, r.asset, r.metric)) or self._series_id(r),
                        round(r.ts * 1000),
                        r.value,
                    )
                    for r in readings
                ]
                rows, result, refused = insert_readings(
                    conn, rows, readings, row_by_row, self.clock()
                )
                if refused:
                    dead = [*dead, *refused]
                if self.forward and rows:
                    conn.executemany(
                        "INSERT INTO forward_queue (series_id, ts, value) VALUES (?, ?, ?)", rows
                    )
                if self.journal and rows:  # what the rules will see: the readings stored
                    kept = readings if result.fates is None else stored(readings, result.fates)
                    result = replace(result, journal_seq=eval_journal.append(conn, rows, kept))
                if dead:
                    conn.executemany(
                        "INSERT INTO state.dead_letters"
                        " (received_at, topic, payload, reason, detail) VALUES (?, ?, ?, ?, ?)",
                        [(d.received_at, d.topic, d.payload, d.reason, d.detail) for d in dead],
                    )
                conn.execute("COMMIT")
                return result
            except BaseException:
                self._abandon()
                raise

    def _abandon(self) -> None:
        """After a failed write: roll back if SQLite has not already (it does on SQLITE_FULL
        and some I/O errors, and a second ROLLBACK would raise and hide the real error), and
        forget every series id cached since the last commit: an id handed out inside the
        rolled-back transaction must not label the next readings (they would be stored
        under an id that no series row has, and the next new series would inherit them)."""
        self._ids = {}  # first: even if what follows fails, no stale id is used again
        roll_back(self._conn)
        with contextlib.suppress(sqlite3.Error):  # else ids are looked up one by one
            self._load_ids()

    def prune(self, now: float) -> int:
        """Drop readings older than the retention and the oldest dead letters."""
        cutoff = round((now - self.retention_days * 86_400) * 1000)
        with self._lock:
            cur = self._conn.execute("DELETE FROM readings WHERE ts < ?", (cutoff,))
            self._conn.execute(
                "DELETE FROM state.dead_letters WHERE id <= "
                "(SELECT MAX(id) FROM state.dead_letters) - ?",
                (DEAD_LETTER_KEEP,),
            )
            return cur.rowcount

    def read_range(self, key: SeriesKey, start: float, end: float) -> list[tuple[float, float]]:
        with closing(self.reader()) as conn:
            rows = conn.execute(
                "SELECT r.ts, r.value FROM readings r JOIN series s ON s.id = r.series_id"
                " WHERE s.site = ? AND s.asset = ? AND s.metric = ? AND r.ts >= ? AND r.ts < ?"
                " ORDER BY r.ts",
                (key.site, key.asset, key.metric, round(start * 1000), round(end * 1000)),
            ).fetchall()
        return [(ts / 1000.0, value) for ts, value in rows]

    def reader(self) -> sqlite3.Connection:
        """A new connection for reading (safe from any thread); close it after use."""
        return connect_reader(self.path, self.state_path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def count_dead_letters(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT reason, COUNT(*) FROM state.dead_letters GROUP BY reason")
    return {reason: int(n) for reason, n in rows}


def connect_reader(path: Path, state_path: Path) -> sqlite3.Connection:
    """A read-only connection to the store with the state database attached."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    conn.execute("ATTACH DATABASE ? AS state", (f"file:{state_path}?mode=ro",))
    return conn


def stored(readings: Sequence[Reading], fates: Sequence[str]) -> list[Reading]:
    return [r for r, fate in zip(readings, fates, strict=True) if fate == STORED]
