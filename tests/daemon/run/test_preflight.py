"""Damaged databases stop the daemon with one line naming the file, the damage and the
remedy (issue 17), instead of a traceback, a silent empty start or lost alerts."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from gatewatch.daemon.run.preflight import check_database, check_databases

ASSETS = Path(__file__).parents[3] / "config" / "assets.yaml"


def sound_db(path: Path, rows: int = 2000) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", ((i, "x" * 200) for i in range(rows)))
        conn.execute("CREATE INDEX t_v ON t (v)")
    return path


def test_absent_and_sound_databases_pass(tmp_path: Path) -> None:
    assert check_database(tmp_path / "missing.db") is None
    assert check_database(sound_db(tmp_path / "ok.db")) is None


def test_zero_byte_file_is_damage(tmp_path: Path) -> None:
    (tmp_path / "readings.db").write_bytes(b"")
    d = check_database(tmp_path / "readings.db")
    assert d is not None and "empty (0 bytes)" in d.problem
    assert "mv " in d.remedy and ".recover" in d.remedy


def test_not_sqlite_is_damage(tmp_path: Path) -> None:
    (tmp_path / "state.db").write_bytes(b"garbage" * 1000)
    d = check_database(tmp_path / "state.db")
    assert d is not None and "not an SQLite database" in d.problem


def test_damaged_middle_pages_are_found(tmp_path: Path) -> None:
    """The case that started, reported ready and lost alerts: pages in the middle."""
    path = sound_db(tmp_path / "state.db")
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 2 // 4096 * 4096)
        f.write(b"\xde\xad\xbe\xef" * 1024)
    d = check_database(path)
    assert d is not None and "damaged" in d.problem
    # above the size limit only the header and schema are read: it passes, by design
    assert check_database(path, full_check_max=1024) is None
    assert [x.path for x in check_databases([tmp_path / "none.db", path])] == [path]


@pytest.mark.slow
def test_gatewatch_run_refuses_a_damaged_state_db_with_one_clear_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.db").write_bytes(b"not a database" * 100)
    cfg = tmp_path / "gatewatch.yaml"
    cfg.write_text(
        f"site: hq\nstate_dir: {state}\nassets: {ASSETS}\nmqtt: {{port: 1}}\n"
        "log: {format: json, level: info}\nhttp: {enabled: false}\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "gatewatch.daemon.commands.main", "run", "--config", str(cfg)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 1
    assert "Traceback" not in out.stderr + out.stdout
    lines = [json.loads(ln) for ln in (out.stderr + out.stdout).splitlines() if ln.startswith("{")]
    damaged = [ln for ln in lines if ln.get("event") == "store_damaged"]
    assert len(damaged) == 1
    assert damaged[0]["file"] == str(state / "state.db")
    assert "not an SQLite database" in damaged[0]["problem"] and "mv " in damaged[0]["remedy"]
