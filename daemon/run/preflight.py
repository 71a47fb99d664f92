"""Before the daemon opens its databases: are they what gatewatch left there?

A damaged readings.db or state.db used to give a raw traceback and a restart loop
under systemd, a zero-byte readings.db started silently empty, and a state.db with
damaged middle pages started, reported ready and lost alerts (issue 17). Now each
existing file is checked first: its SQLite header, its schema, and ``PRAGMA
quick_check`` (every page of state.db; of readings.db up to ``QUICK_CHECK_MAX``
bytes, since a gateway's year of readings would take minutes to read at each start).
A problem stops the daemon with one line per file: what is wrong and what to do.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

HEADER = b"SQLite format 3\x00"
QUICK_CHECK_MAX = 256 * 1024 * 1024


@dataclass(frozen=True)
class Damage:
    path: Path
    problem: str

    @property
    def remedy(self) -> str:
        aside = f"{self.path}.damaged"
        return (
            f"stop gatewatch and move the file aside (mv {self.path} {aside}; also its -wal "
            f"and -shm files if present); gatewatch then starts with a fresh one. What it "
            f"held stays in {aside}: sqlite3 {aside} .recover | sqlite3 recovered.db saves "
            "the readable rows"
        )


def check_database(path: Path, *, full_check_max: int = QUICK_CHECK_MAX) -> Damage | None:
    """None when ``path`` is absent (a first start) or a sound SQLite database."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    problem = _header_problem(path, size) or _sqlite_problem(path, size > full_check_max)
    return Damage(path, problem) if problem else None


def _header_problem(path: Path, size: int) -> str:
    if size == 0:
        return (
            "the file is empty (0 bytes): gatewatch never leaves an empty database, "
            "so it was truncated or replaced"
        )
    try:
        with path.open("rb") as f:
            head = f.read(len(HEADER))
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    if head != HEADER:
        return f"is not an SQLite database (it starts with {head[:16]!r})"
    return ""


def _sqlite_problem(path: Path, schema_only: bool) -> str:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            if schema_only:
                return ""
            rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:
        return f"is damaged: {exc}"
    return "" if rows == ["ok"] else "is damaged: " + "; ".join(str(r) for r in rows)


def check_databases(paths: list[Path]) -> list[Damage]:
    return [d for p in paths if (d := check_database(p)) is not None]
