"""A full disk, for real: the store on a 4 MiB tmpfs, filled up by another file.

The failed write must say "database or disk is full" (not the ROLLBACK's "no
transaction is active"), be counted by reason, and, once space is back, the
readings of a series first seen in the failed transaction must be stored under
that series and no other.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from gatewatch.core.reading import Reading, SeriesKey
from gatewatch.sensors.store.errors import describe
from gatewatch.sensors.store.sqlite import SqliteStore
from gatewatch.sensors.writer import Batch, StoreWriter
from structlog.testing import capture_logs

T0 = 1_764_000_000.0
NEW_SERIES = 3_000  # readings of a series first seen while the disk is full


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the file system is full; returns it (delete it to free space)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)
    return filler


def readings(asset: str, n: int, start: float = T0) -> list[Reading]:
    return [Reading("hq", asset, "temp", start + i, float(i), "C") for i in range(n)]


def test_full_disk_names_the_cause_and_misattributes_nothing(small_disk: Path) -> None:
    store = SqliteStore(small_disk / "readings.db", small_disk / "state.db")
    store.write(readings("old", 10), [])
    durable: list[list[Batch]] = []
    got_durable = threading.Event()
    writer = StoreWriter(
        store, lambda g: (durable.append(g), got_durable.set()), retry_min=0.05, retry_max=0.05
    )
    filler = fill(small_disk)
    with capture_logs() as logs:
        writer.start()
        writer.submit(Batch(readings=readings("new", NEW_SERIES)))
        deadline = time.monotonic() + 10
        while writer.failures < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writer.failures >= 2, "the write on a full disk should fail and be retried"
        assert writer.last_error is not None and writer.last_error.code == "SQLITE_FULL"
        assert writer.failure_reasons["disk_full"] == writer.failures
        filler.unlink()  # space is back: the retry commits
        assert got_durable.wait(10), "the write should succeed once space is free"
    writer.stop()
    failed = [e for e in logs if e["event"] == "store_write_failed"]
    assert failed and all(e["error"] == "database or disk is full" for e in failed)
    assert all(e["reason"] == "disk_full" and "free space" in e["remedy"] for e in failed)
    assert writer.last_error is None  # a commit clears it

    store.write(readings("later", 5, start=T0 + 10_000), [])  # the next new series
    new = store.read_range(SeriesKey("hq", "new", "temp"), 0, 2e9)
    assert len(new) == NEW_SERIES
    assert len(store.read_range(SeriesKey("hq", "later", "temp"), 0, 2e9)) == 5
    with closing(sqlite3.connect(small_disk / "readings.db")) as conn:
        orphans = conn.execute(
            "SELECT COUNT(*) FROM readings WHERE series_id NOT IN (SELECT id FROM series)"
        ).fetchone()[0]
    assert orphans == 0
    store.close()


def test_describe_names_the_sqlite_error_and_its_remedy(tmp_path: Path) -> None:
    ro = tmp_path / "ro.db"
    with closing(sqlite3.connect(ro)) as conn:
        conn.execute("CREATE TABLE t (x)")
    with (
        closing(sqlite3.connect(f"file:{ro}?mode=ro", uri=True)) as conn,
        pytest.raises(sqlite3.Error) as raised,
    ):
        conn.execute("INSERT INTO t VALUES (1)")
    error = describe(raised.value)
    assert (error.reason, error.code) == ("read_only", "SQLITE_READONLY")
    assert "writable" in str(error)
    assert describe(ValueError("boom")).reason == "other"
