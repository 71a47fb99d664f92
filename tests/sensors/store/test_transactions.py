"""A COMMIT that fails leaves no open transaction behind, and the error is the real one.

A deferred foreign key makes COMMIT itself fail (as a full disk does) and leaves
SQLite inside the transaction, which would make every later BEGIN fail with
"cannot start a transaction within a transaction"."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from gatewatch.sensors.store import errors
from gatewatch.ticketing_client import outbox

Transaction = Callable[[sqlite3.Connection], AbstractContextManager[Any]]


def connection() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    conn.execute(
        "CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    return conn


@pytest.mark.parametrize("transaction", [errors.transaction, outbox.transaction])
def test_a_failed_commit_rolls_back_and_the_next_transaction_works(
    transaction: Transaction,
) -> None:
    conn = connection()
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), transaction(conn):
        conn.execute("INSERT INTO child VALUES (7)")  # no parent 7: COMMIT refuses
    assert not conn.in_transaction
    with transaction(conn):
        conn.execute("INSERT INTO parent VALUES (7)")
        conn.execute("INSERT INTO child VALUES (7)")
    assert conn.execute("SELECT COUNT(*) FROM child").fetchone()[0] == 1


@pytest.mark.parametrize("transaction", [errors.transaction, outbox.transaction])
def test_the_error_of_the_body_is_not_hidden_by_the_rollback(transaction: Transaction) -> None:
    conn = connection()
    with pytest.raises(ValueError, match="the real one"), transaction(conn):
        conn.execute("ROLLBACK")  # as SQLite does by itself on SQLITE_FULL
        raise ValueError("the real one")
    assert not conn.in_transaction
