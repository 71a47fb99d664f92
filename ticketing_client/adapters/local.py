"""Local backend: tickets kept in the state database (demo, gateways without a desk)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from gatewatch.ticketing_client.actions import TicketAction
from gatewatch.ticketing_client.errors import RejectedError


class LocalAdapter:
    name = "local"

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        lock: threading.Lock | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.conn = conn
        self.lock: AbstractContextManager[object] = lock if lock is not None else nullcontext()
        self.clock = clock

    def _write(self, sql: str, args: tuple[object, ...]) -> int:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                cur = self.conn.execute(sql, args)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            return int(cur.lastrowid or 0) if sql.startswith("INSERT") else cur.rowcount

    def _note(self, ticket_id: str, kind: str, text: str) -> None:
        self._write(
            "INSERT INTO local_ticket_notes (ticket_id, ts, kind, text) VALUES (?, ?, ?, ?)",
            (int(ticket_id), self.clock(), kind, text),
        )

    def _set(self, ticket_id: str, column: str, value: object) -> None:
        if column not in ("priority", "queue", "status", "reopen_count"):
            raise ValueError(column)
        changed = self._write(
            f"UPDATE local_tickets SET {column} = ?, updated = ? WHERE id = ?",  # noqa: S608
            (value, self.clock(), int(ticket_id)),
        )
        if not changed:
            raise RejectedError(f"local ticket {ticket_id} does not exist")

    async def find(self, incident_key: str) -> str | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT id FROM local_tickets WHERE incident_key = ? AND status != 'resolved'"
                " ORDER BY id DESC LIMIT 1",
                (incident_key,),
            ).fetchone()
        return None if row is None else str(row[0])

    async def create(self, action: TicketAction) -> str:
        existing = await self.find(action.incident_key)
        if existing is not None:
            return existing
        now = self.clock()
        ticket = self._write(
            "INSERT INTO local_tickets (incident_key, subject, priority, potentially_critical,"
            " created, updated) VALUES (?, ?, ?, ?, ?, ?)",
            (
                action.incident_key,
                action.subject,
                action.priority or 3,
                int(action.potentially_critical),
                now,
                now,
            ),
        )
        self._note(str(ticket), "create", action.text)
        return str(ticket)

    async def comment(self, ticket_id: str, action: TicketAction) -> None:
        self._note(ticket_id, str(action.kind), action.text)

    async def delivered(self, ticket_id: str, action: TicketAction) -> bool:
        with self.lock:
            row = self.conn.execute(
                "SELECT 1 FROM local_ticket_notes WHERE ticket_id = ? AND text = ?",
                (int(ticket_id), action.text),
            ).fetchone()
        return row is not None

    async def acknowledged(self, ticket_id: str) -> bool:
        with self.lock:
            row = self.conn.execute(
                "SELECT owner FROM local_tickets WHERE id = ?", (int(ticket_id),)
            ).fetchone()
        return row is not None and bool(row[0])

    async def escalate(self, ticket_id: str, action: TicketAction) -> None:
        if action.priority is not None:
            self._set(ticket_id, "priority", action.priority)
        if action.queue:
            self._set(ticket_id, "queue", action.queue)
        self._note(ticket_id, "escalate", action.text)

    async def resolve(self, ticket_id: str, action: TicketAction) -> None:
        if action.close:
            self._set(ticket_id, "status", "resolved")
        self._note(ticket_id, "resolve", action.text)

    async def reopen(self, ticket_id: str, action: TicketAction) -> None:
        self._set(ticket_id, "status", "open")
        self._set(ticket_id, "reopen_count", action.reopen_count)
        if action.priority is not None:
            self._set(ticket_id, "priority", action.priority)
        self._note(ticket_id, "reopen", action.text)

    async def aclose(self) -> None:
        return None


def take(conn: sqlite3.Connection, ticket_id: int, owner: str, now: float) -> bool:
    """A technician takes a local ticket (acknowledgement)."""
    cur = conn.execute(
        "UPDATE local_tickets SET owner = ?, status = CASE status WHEN 'new' THEN 'open'"
        " ELSE status END, updated = ? WHERE id = ?",
        (owner, now, ticket_id),
    )
    return cur.rowcount == 1
