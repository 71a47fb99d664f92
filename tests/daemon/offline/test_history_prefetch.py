"""The reader process gives exactly the in-process windows; errors and early stops."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from gatewatch.daemon.offline.backtest import read_history
from gatewatch.daemon.offline.history_prefetch import prefetched_rows
from gatewatch.daemon.offline.history_windows import windowed_rows
from test_history_windows import T0, bits, make_db

DAY = 86_400_000


def stored(path: Path) -> Path:
    """Three days of six series at 1 a minute, with values that need all 64 bits."""
    rows = [
        (sid, T0 + m * 60_000 + sid, (m * 0.1 + sid / 3) * (-1) ** m)
        for m in range(3 * 1440)
        for sid in range(1, 7)
    ]
    make_db(path, rows).close()
    return path


def test_the_reader_process_gives_the_in_process_rows_bit_for_bit(tmp_path: Path) -> None:
    db = stored(tmp_path / "r.db")
    lo, hi = T0 + 7_777, T0 + 2 * DAY + 12_345
    with closing(sqlite3.connect(db)) as conn:
        local = bits(windowed_rows(conn, lo, hi))
    assert bits(prefetched_rows(db, lo, hi)) == local
    assert len(local) == 6 * 2 * 1440


def test_read_history_with_and_without_the_reader_process(tmp_path: Path) -> None:
    db = stored(tmp_path / "r.db")
    ahead = read_history(db, T0 / 1000, (T0 + DAY) / 1000)
    here = read_history(db, T0 / 1000, (T0 + DAY) / 1000, prefetch=False)
    assert ahead.names == here.names == {i: ("hq", f"a{i}", "m") for i in range(1, 7)}
    assert bits(iter(ahead.chunks)) == bits(iter(here.chunks))


def test_a_replay_that_stops_early_ends_the_reader(tmp_path: Path) -> None:
    db = stored(tmp_path / "r.db")
    chunks = prefetched_rows(db, T0, T0 + 3 * DAY)
    first = next(chunks)
    assert first[0][0] == 1 and first[0][1] == (T0 + 1) / 1000
    chunks.close()  # kills and reaps the child: no ResourceWarning (warnings are errors)


def test_a_database_error_in_the_reader_is_raised_with_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"this is not an SQLite file" * 100)
    with pytest.raises(sqlite3.DatabaseError, match=r"not-a-db\.db: file is not a database"):
        list(prefetched_rows(bad, T0, T0 + DAY))
    with pytest.raises(sqlite3.OperationalError, match="unable to open database file"):
        list(prefetched_rows(tmp_path / "missing.db", T0, T0 + DAY))
