"""The evaluation journal: written with the readings, read back after the rules' cursor."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

from gatewatch.core.reading import Reading
from gatewatch.sensors.store import journal
from gatewatch.sensors.store.sqlite import SqliteStore, connect_reader
from gatewatch.sensors.writer import Batch, StoreWriter

T0 = 1_764_000_000.0


def r(asset: str, i: int) -> Reading:
    return Reading("hq", asset, "temp", T0 + i + 0.25, 20.0 + i, "C")


def after_cursor(tmp: Path) -> list[tuple[journal.Position, list[Reading]]]:
    with closing(connect_reader(tmp / "r.db", tmp / "s.db")) as conn:
        return list(journal.unevaluated(conn))


def save_cursor(tmp: Path, at: journal.Position) -> None:
    with closing(sqlite3.connect(tmp / "s.db")) as conn, conn:
        journal.ensure_cursor_schema(conn)
        journal.save_cursor(conn, at)


def test_readings_come_back_after_the_cursor_exactly(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "r.db", tmp_path / "s.db", journal=True)
    first = [r("a", 0), r("b", 1), r("a", 2)]
    seq1 = store.write(first, []).journal_seq
    seq2 = store.write([r("c", 3)], []).journal_seq
    assert store.write([], []).journal_seq is None  # nothing to evaluate, no row
    assert seq1 is not None and seq2 == seq1 + 1
    assert after_cursor(tmp_path) == [((seq1, 3), first), ((seq2, 1), [r("c", 3)])]
    save_cursor(tmp_path, (seq1, 2))  # the rules saw the first two of row 1
    assert after_cursor(tmp_path) == [((seq1, 3), [r("a", 2)]), ((seq2, 1), [r("c", 3)])]
    save_cursor(tmp_path, (seq2, 1))
    assert after_cursor(tmp_path) == []
    store.write([r("d", 4)], [])  # the next transaction drops the rows the rules are past
    with closing(sqlite3.connect(tmp_path / "r.db")) as conn:
        left = [s for (s,) in conn.execute("SELECT seq FROM eval_journal ORDER BY seq")]
    assert left == [seq2, seq2 + 1]
    store.close()


def test_a_new_readings_db_resets_a_cursor_into_the_old_journal(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "r.db", tmp_path / "s.db", journal=True)
    for i in range(3):
        store.write([r("a", i)], [])
    save_cursor(tmp_path, (3, 1))
    store.close()
    for suffix in ("", "-wal", "-shm"):  # readings.db moved aside, state.db kept
        (tmp_path / f"r.db{suffix}").unlink(missing_ok=True)
    store = SqliteStore(tmp_path / "r.db", tmp_path / "s.db", journal=True)
    store.write([r("b", 9)], [])
    assert after_cursor(tmp_path) == [((1, 1), [r("b", 9)])]
    store.close()


def test_without_rules_nothing_is_journalled(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "r.db", tmp_path / "s.db")
    assert store.write([r("a", 0)], []).journal_seq is None
    with closing(sqlite3.connect(tmp_path / "r.db")) as conn:
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "eval_journal" not in tables
    store.close()


def test_a_group_commit_gives_each_batch_its_end_position(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "r.db", tmp_path / "s.db", journal=True)
    done: list[list[Batch]] = []
    seen = threading.Event()
    writer = StoreWriter(store, lambda g: (done.append(g), seen.set()))
    writer.submit(Batch(readings=[r("a", 0), r("a", 1)]))  # queued before the thread runs:
    writer.submit(Batch(readings=[r("b", 2)]))  # one group, one transaction
    writer.submit(Batch())  # dead letters only: nothing of it to evaluate
    writer.start()
    assert seen.wait(10)
    writer.stop()
    (group,) = done
    seq = group[0].position[0] if group[0].position else 0
    assert [b.position for b in group] == [(seq, 2), (seq, 3), (seq, 3)]
    store.close()


def test_a_damaged_row_gives_what_it_can() -> None:
    readings = [r("a", 0), r("b", 1)]
    rows = [(sid, round(x.ts * 1000), x.value) for sid, x in zip((1, 2), readings, strict=True)]
    blob = journal.encode(rows, readings)
    names: journal.SeriesNames = {1: ("hq", "a", "temp", "C")}  # series 2 unknown
    assert journal.decode(blob, names) == [r("a", 0)]
    assert journal.decode(blob + b"\0" * 5, names) == [r("a", 0)]  # a torn tail


def test_only_what_was_stored_is_journalled_with_its_stored_time_and_marks(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "r.db", tmp_path / "s.db", journal=True)
    store.write([r("a", 0)], [])
    timed = Reading("hq", "a", "temp", T0 + 0.25, 99.0, "C")  # a conflict: not stored
    late = Reading("hq", "b", "temp", T0, 1.0, "C", received=True, backlog=True)
    seq = store.write([timed, r("a", 0), late], []).journal_seq  # r("a", 0): a duplicate
    with closing(connect_reader(tmp_path / "r.db", tmp_path / "s.db")) as conn:
        rows = dict(journal.unevaluated(conn))
    (got,) = rows[(seq, 1)]
    assert (got, got.received, got.backlog) == (late, True, True)
    store.close()
