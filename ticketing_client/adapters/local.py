"""Local backend: tickets kept in the state database (demo, gateways without a desk)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from gatewatch.core.events import Attachment
from gatewatch.ticketing_client.actions import TicketAction
from gatewatch.ticketing_client.adapters.options import AdapterContext, Desk, Options
from gatewatch.ticketing_client.errors import RejectedError
from gatewatch.ticketing_client.outbox import transaction


class LocalAdapter:
    name = "local"
    takes_attachments = True

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

    def _write(self, sql: str, args: tuple[object, ...], *more: Write) -> int:
        """One transaction: ``sql`` and then ``more`` (which get its new row id)."""
        with self.lock, transaction(self.conn):
            cur = self.conn.execute(sql, args)
            row = int(cur.lastrowid or 0)
            for extra in more:
                extra(self.conn, row)
        return row if sql.startswith("INSERT") else cur.rowcount

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
            lambda db, row: _store_files(db, row, action.attachments, now),
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


Write = Callable[[sqlite3.Connection, int], object]


def _store_files(
    db: sqlite3.Connection, ticket: int, files: tuple[Attachment, ...], now: float
) -> None:
    """The create's files beside the ticket, in the same transaction as the ticket."""
    for a in files:
        db.execute(
            "INSERT INTO local_ticket_attachments (ticket_id, ts, name, content_type,"
            " description, data) VALUES (?, ?, ?, ?, ?, ?)",
            (ticket, now, a.name, a.content_type, a.description, a.data),
        )


def attachments_of(conn: sqlite3.Connection, ticket_id: int) -> list[Attachment]:
    """A local ticket's files (for `gatewatch tickets show` and the status page)."""
    rows = conn.execute(
        "SELECT name, content_type, data, description FROM local_ticket_attachments"
        " WHERE ticket_id = ? ORDER BY id",
        (ticket_id,),
    )
    return [Attachment(name, ctype, bytes(data), what) for name, ctype, data, what in rows]


def take(conn: sqlite3.Connection, ticket_id: int, owner: str, now: float) -> bool:
    """A technician takes a local ticket (acknowledgement)."""
    cur = conn.execute(
        "UPDATE local_tickets SET owner = ?, status = CASE status WHEN 'new' THEN 'open'"
        " ELSE status END, updated = ? WHERE id = ?",
        (owner, now, ticket_id),
    )
    return cur.rowcount == 1


def _no_settings(options: Options, ctx: AdapterContext) -> None:
    return None  # tickets live in the state database: nothing to configure


DESK = Desk(
    "local",
    options=frozenset(),
    settings=_no_settings,
    build=lambda settings, ctx: LocalAdapter(ctx.conn, lock=ctx.lock),
    takes_attachments=LocalAdapter.takes_attachments,
)
