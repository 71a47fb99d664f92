"""Windowed history reads give exactly the rows of one ``ORDER BY ts, series_id`` query."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from gatewatch.daemon.offline.history_windows import WINDOW_QUERY, WindowSize, windowed_rows
from gatewatch.sensors.store.sqlite import SCHEMA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

Row = tuple[int, int, float]  # as stored: series id, ts in ms, value
T0 = 1_700_000_000_000
REFERENCE = (
    "SELECT series_id, ts / 1000.0, value FROM readings WHERE ts >= ? AND ts < ?"
    " ORDER BY ts, series_id"
)


def make_db(path: Path, rows: list[Row], series: int = 6) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("ATTACH DATABASE ? AS state", (str(path.with_suffix(".state")),))
    conn.executescript(SCHEMA)
    conn.execute("BEGIN")
    conn.execute("DELETE FROM readings")
    conn.execute("DELETE FROM series")
    conn.executemany(
        "INSERT INTO series (id, site, asset, metric) VALUES (?, 'hq', ?, 'm')",
        [(i, f"a{i}") for i in range(1, series + 1)],
    )
    conn.executemany("INSERT OR IGNORE INTO readings VALUES (?, ?, ?)", rows)
    conn.execute("COMMIT")
    return conn


def bits(chunks: Iterator[list[tuple[int, float, float]]]) -> list[tuple[int, str, str]]:
    """The rows with their floats as exact hex (0.0 and -0.0 differ)."""
    return [(sid, ts.hex(), value.hex()) for chunk in chunks for sid, ts, value in chunk]


def reference(conn: sqlite3.Connection, lo: int, hi: int) -> list[tuple[int, str, str]]:
    return bits(iter([conn.execute(REFERENCE, (lo, hi)).fetchall()]))


values = st.floats(allow_nan=False, width=64) | st.sampled_from([0.0, -0.0, 0.1, 1e300])
rows = st.lists(
    st.tuples(
        st.integers(1, 6),
        st.integers(T0 - 5_000, T0 + 200_000) | st.sampled_from([T0, T0 + 1, T0 + 60_000]),
        values,
    ),
    max_size=300,
)


FIXTURE = [HealthCheck.function_scoped_fixture]  # tmp_path: each example rewrites its db


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE)
@given(
    data=rows,
    lo=st.integers(T0 - 6_000, T0 + 100_000),
    length=st.integers(0, 250_000),
    target=st.integers(2, 40),
    extra=st.integers(0, 40),
    first=st.integers(1, 50_000),
)
def test_windows_equal_one_sorted_query(
    tmp_path: Path, *, data: list[Row], lo: int, length: int, target: int, extra: int, first: int
) -> None:
    size = WindowSize(target=target, cap=target + extra, first_ms=first)
    with closing(make_db(tmp_path / "r.db", data)) as conn:
        chunks = list(windowed_rows(conn, lo, lo + length, size))
        assert bits(iter(chunks)) == reference(conn, lo, lo + length)
        assert all(0 < len(c) <= size.cap or _one_ms(c) for c in chunks)


def _one_ms(chunk: list[tuple[int, float, float]]) -> bool:
    return len({ts for _, ts, _ in chunk}) == 1


def test_a_dense_burst_after_a_quiet_stretch_is_read_in_bounded_windows(tmp_path: Path) -> None:
    sparse = [(1, T0 + h * 3_600_000, 1.0) for h in range(48)]  # an hourly reading for 2 days
    burst_at = T0 + 48 * 3_600_000
    dense = [(sid, burst_at + ms, float(ms)) for ms in range(2_000) for sid in range(1, 7)]
    size = WindowSize(target=100, cap=400, first_ms=60_000)
    with closing(make_db(tmp_path / "r.db", sparse + dense)) as conn:
        chunks = list(windowed_rows(conn, T0, burst_at + 10_000, size))
        assert bits(iter(chunks)) == reference(conn, T0, burst_at + 10_000)
    assert max(map(len, chunks)) <= 400  # the spans grew over the quiet days, then shrank
    assert len(chunks) > 12_000 // 400


def test_several_series_in_one_millisecond_over_the_cap_still_come_out(tmp_path: Path) -> None:
    data = [(sid, T0, float(sid)) for sid in range(1, 7)]
    with closing(make_db(tmp_path / "r.db", data)) as conn:
        chunks = list(windowed_rows(conn, T0 - 10, T0 + 10, WindowSize(target=1, cap=2)))
    assert chunks == [[(sid, T0 / 1000.0, float(sid)) for sid in range(1, 7)]]


def test_each_window_seeks_the_key_and_sorts_nothing_in_sqlite(tmp_path: Path) -> None:
    with closing(make_db(tmp_path / "r.db", [])) as conn:
        plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + WINDOW_QUERY, (0, 1)))
    assert "SEARCH readings USING PRIMARY KEY (series_id=? AND ts>? AND ts<?)" in plan
    assert "TEMP B-TREE" not in plan


def test_window_size_is_validated() -> None:
    with pytest.raises(ValueError, match="target <= cap"):
        WindowSize(target=10, cap=5)
    assert WindowSize(target=100).next_span(1000, 10) == 2000
    assert WindowSize(target=100).next_span(1000, 201) == 500
    assert WindowSize(target=100).next_span(1000, 150) == 1000
