"""sensors/store/insert.py through the real store: stored, duplicate, conflict, and
readings without a payload time that always stay; the writer's share per batch."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
from gatewatch.core.reading import Reading, SeriesKey
from gatewatch.sensors.store.base import CONFLICT, DUPLICATE, STORED
from gatewatch.sensors.store.sqlite import SqliteStore
from gatewatch.sensors.writer import Batch, StoreWriter

T0 = 1_764_000_000.0
KEY = SeriesKey("hq", "pump-1", "rms")


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "r.db", tmp_path / "s.db", forward=True, clock=lambda: T0 + 9)


def r(ts: float, value: float, *, received: bool = False) -> Reading:
    return Reading("hq", "pump-1", "rms", ts, value, "mm/s", received)


def dead_letters(tmp_path: Path) -> list[tuple[float, str, bytes, str, str]]:
    with sqlite3.connect(tmp_path / "s.db") as conn:
        return conn.execute(
            "SELECT received_at, topic, payload, reason, detail FROM dead_letters"
        ).fetchall()


def forwarded(tmp_path: Path) -> list[tuple[int, float]]:
    with sqlite3.connect(tmp_path / "r.db") as conn:
        return conn.execute("SELECT ts, value FROM forward_queue ORDER BY seq").fetchall()


def test_a_batch_that_all_goes_in_has_no_per_reading_fates(store: SqliteStore) -> None:
    assert store.write([r(T0, 1.0), r(T0 + 1, 2.0)], []).fates is None


def test_a_redelivery_is_a_duplicate_kept_once_and_not_forwarded_again(
    store: SqliteStore, tmp_path: Path
) -> None:
    store.write([r(T0, 1.0), r(T0 + 1, 2.0)], [])
    result = store.write([r(T0, 1.0), r(T0 + 1, 2.0), r(T0 + 2, 3.0)], [])
    assert result.fates == (DUPLICATE, DUPLICATE, STORED)
    assert store.read_range(KEY, 0, 2e9) == [(T0, 1.0), (T0 + 1, 2.0), (T0 + 2, 3.0)]
    assert dead_letters(tmp_path) == []
    assert [v for _, v in forwarded(tmp_path)] == [1.0, 2.0, 3.0]


def test_another_value_at_a_held_time_is_a_conflict_dead_lettered_with_both_values(
    store: SqliteStore, tmp_path: Path
) -> None:
    store.write([r(T0, 1.0)], [])
    # a device whose clock stepped back re-sends T0 with a new value
    assert store.write([r(T0, 7.5)], []).fates == (CONFLICT,)
    assert store.read_range(KEY, 0, 2e9) == [(T0, 1.0)]  # the first value stays
    [(received_at, topic, payload, reason, detail)] = dead_letters(tmp_path)
    assert (received_at, topic, reason) == (T0 + 9, "hq/pump-1/rms", "conflict")
    assert json.loads(payload) == {"series": "hq/pump-1/rms", "ts": T0, "value": 7.5}
    assert "2025-11-24T16:00:00.000+00:00" in detail
    assert "holds 1.0" in detail and "says 7.5" in detail
    assert [v for _, v in forwarded(tmp_path)] == [1.0]


def test_repeats_inside_one_batch_are_judged_in_order(store: SqliteStore) -> None:
    result = store.write([r(T0, 1.0), r(T0, 1.0), r(T0, 2.0), r(T0 + 1, 3.0)], [])
    assert result.fates == (STORED, DUPLICATE, CONFLICT, STORED)


def test_readings_without_payload_time_always_stay_on_the_next_free_millisecond(
    store: SqliteStore, tmp_path: Path
) -> None:
    store.write([r(T0, 1.0), r(T0 + 0.001, 2.0)], [])
    # the same value too: a message without a time is a new reading each time it comes
    batch = [r(T0, 1.0, received=True), r(T0, 5.0, received=True)]
    result = store.write(batch, [])
    assert result.fates == (STORED, STORED)
    assert result.moved == ((0, T0 + 0.002), (1, T0 + 0.003))
    assert store.read_range(KEY, 0, 2e9) == [
        (T0, 1.0),
        (T0 + 0.001, 2.0),
        (T0 + 0.002, 1.0),
        (T0 + 0.003, 5.0),
    ]
    assert dead_letters(tmp_path) == []
    assert len(forwarded(tmp_path)) == 4


def test_the_writer_gives_each_batch_its_stored_readings_and_counts(
    store: SqliteStore,
) -> None:
    store.write([r(T0, 1.0)], [])
    done: list[Batch] = []
    finished = threading.Event()

    def on_durable(group: list[Batch]) -> None:
        done.extend(group)
        if sum(b.messages for b in done) == 2:
            finished.set()

    writer = StoreWriter(store, on_durable)
    first = Batch(readings=[r(T0, 1.0), r(T0 + 1, 2.0), r(T0, 6.0, received=True)], messages=1)
    second = Batch(readings=[r(T0, 4.0), r(T0 + 2, 3.0)], messages=1)
    writer.submit(first)
    writer.submit(second)
    writer.start()
    assert finished.wait(10)
    writer.stop()
    # the reading without a payload time is kept at the millisecond it was stored at
    assert first.readings == [r(T0 + 1, 2.0), r(T0 + 0.001, 6.0)]
    assert (first.duplicates, first.conflicts) == (1, 0)
    assert (second.readings, second.duplicates, second.conflicts) == ([r(T0 + 2, 3.0)], 0, 1)
