"""What went wrong with a store write, in words a user can act on.

SQLite reports every failure as one exception type with an extended result
code (``sqlite_errorname``: SQLITE_FULL, SQLITE_IOERR_WRITE, ...). The writer
counts failures by the coarse ``reason`` below (a metric label) and logs the
original error with the remedy, so a full disk reads "database or disk is
full", never the follow-up "cannot rollback - no transaction is active".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

# SQLite's primary result code (before the first "_" of the extended name) -> reason, remedy
_REASONS: dict[str, tuple[str, str]] = {
    "SQLITE_FULL": ("disk_full", "free space on the file system of the state_dir"),
    "SQLITE_IOERR": ("io_error", "check the disk and the kernel log (dmesg) for I/O errors"),
    "SQLITE_READONLY": (
        "read_only",
        "make the database files and the state_dir writable by the gatewatch user",
    ),
    "SQLITE_BUSY": ("locked", "another process holds the database; stop it"),
    "SQLITE_LOCKED": ("locked", "another process holds the database; stop it"),
    "SQLITE_CORRUPT": ("corrupt", "the database file is damaged; restore it or move it aside"),
    "SQLITE_NOTADB": ("corrupt", "the file is not an SQLite database; move it aside"),
    "SQLITE_CANTOPEN": ("cannot_open", "check that the state_dir exists and is writable"),
    "SQLITE_PERM": ("read_only", "check the permissions of the state_dir"),
}
REASONS = tuple(sorted({reason for reason, _ in _REASONS.values()} | {"other"}))


@dataclass(frozen=True, slots=True)
class StoreError:
    """One failed store operation: the coarse reason, SQLite's own name for it, its text."""

    reason: str  # one of REASONS
    code: str  # SQLite's extended result name, e.g. SQLITE_IOERR_WRITE; "" if not SQLite's
    message: str  # the original error text
    remedy: str

    def __str__(self) -> str:
        code = f" ({self.code})" if self.code else ""
        return f"{self.message}{code}: {self.remedy}"


def describe(exc: BaseException) -> StoreError:
    """The reason, code and remedy of ``exc`` (any exception; SQLite's are classified)."""
    code = getattr(exc, "sqlite_errorname", None) if isinstance(exc, sqlite3.Error) else None
    if not code:
        return StoreError("other", "", str(exc) or type(exc).__name__, "see the error")
    primary = "_".join(code.split("_")[:2])
    reason, remedy = _REASONS.get(primary, ("other", "see the SQLite error"))
    return StoreError(reason, code, str(exc), remedy)


def roll_back(conn: sqlite3.Connection) -> None:
    """After a failed statement or COMMIT: ROLLBACK unless SQLite already did (it does on
    SQLITE_FULL and some I/O errors); a failing ROLLBACK is swallowed, so the error the
    caller raises is the original one, not "cannot rollback - no transaction is active"."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT on an autocommit connection; rolled back on any error,
    a failed COMMIT included."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        roll_back(conn)
        raise
