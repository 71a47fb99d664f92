from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from gatewatch.core.reading import Reading, SeriesKey
from gatewatch.sensors.store.base import DeadLetter
from gatewatch.sensors.store.sqlite import SqliteStore

DAY = 86_400.0
T0 = 1_764_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "readings.db", tmp_path / "state.db", retention_days=400)


def r(ts: float, value: float, asset: str = "pump-1", metric: str = "rms") -> Reading:
    return Reading("hq", asset, metric, ts, value, "mm/s")


def test_range_read_is_per_series_ordered_and_half_open(store: SqliteStore) -> None:
    store.write([r(T0 + 2, 2.0), r(T0, 0.0), r(T0 + 1, 1.0), r(T0 + 1, 9.0, asset="pump-2")], [])
    key = SeriesKey("hq", "pump-1", "rms")
    assert store.read_range(key, T0, T0 + 2) == [(T0, 0.0), (T0 + 1, 1.0)]
    assert store.read_range(SeriesKey("hq", "pump-2", "rms"), 0, 2e9) == [(T0 + 1, 9.0)]


def test_duplicates_collapse_on_series_and_timestamp(store: SqliteStore) -> None:
    store.write([r(T0, 1.0), r(T0 + 0.001, 2.0)], [])
    store.write([r(T0, 1.0), r(T0 + 0.001, 2.0)], [])  # an MQTT redelivery
    assert len(store.read_range(SeriesKey("hq", "pump-1", "rms"), 0, 2e9)) == 2


def test_series_ids_survive_reopen(tmp_path: Path, store: SqliteStore) -> None:
    store.write([r(T0, 1.0)], [])
    store.close()
    again = SqliteStore(tmp_path / "readings.db", tmp_path / "state.db")
    again.write([r(T0 + 1, 2.0)], [])
    with sqlite3.connect(tmp_path / "readings.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM series").fetchone()[0] == 1


def test_retention_prunes_old_readings_only(store: SqliteStore) -> None:
    store.write([r(T0 - 401 * DAY, 1.0), r(T0 - 399 * DAY, 2.0), r(T0, 3.0)], [])
    assert store.prune(T0) == 1
    values = [v for _, v in store.read_range(SeriesKey("hq", "pump-1", "rms"), 0, 2e9)]
    assert values == [2.0, 3.0]


def test_dead_letters_go_to_the_state_database(tmp_path: Path, store: SqliteStore) -> None:
    store.write([], [DeadLetter(T0, "b/x", b"junk", "not_a_number", "payload 'junk'")])
    with sqlite3.connect(tmp_path / "state.db") as conn:
        assert conn.execute("SELECT topic, reason FROM dead_letters").fetchall() == [
            ("b/x", "not_a_number")
        ]


def test_forward_queue_only_when_forwarding(tmp_path: Path) -> None:
    fwd = SqliteStore(tmp_path / "f.db", tmp_path / "s.db", forward=True)
    fwd.write([r(T0, 1.0)], [])
    with sqlite3.connect(tmp_path / "f.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM forward_queue").fetchone()[0] == 1


def test_failed_write_rolls_back_and_store_stays_usable(store: SqliteStore) -> None:
    with pytest.raises(sqlite3.Error):
        store.write([Reading("hq", "a", "m", T0, 1.0)], [DeadLetter(T0, None, b"", "x", "y")])  # type: ignore[arg-type]
    assert store.read_range(SeriesKey("hq", "a", "m"), 0, 2e9) == []
    store.write([Reading("hq", "a", "m", T0, 1.0)], [])
    assert store.read_range(SeriesKey("hq", "a", "m"), 0, 2e9) == [(T0, 1.0)]
