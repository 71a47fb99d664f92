"""The local backend (tickets in the state database) seen through the contract."""

from __future__ import annotations

import sqlite3

from gatewatch.ticketing_client.adapters.base import Adapter
from gatewatch.ticketing_client.adapters.local import LocalAdapter, take
from harness import Desk
from probe import Misconfigured


class LocalProbe:
    name = "local"
    escalation_queue = "Supervisors"

    def __init__(self) -> None:
        self.conn: sqlite3.Connection | None = None

    def adapter(self, desk: Desk) -> Adapter:
        self.conn = desk.conn
        return LocalAdapter(desk.conn, lock=desk.lock, clock=desk.clock)

    def _one(self, sql: str, ticket: str) -> object:
        assert self.conn is not None, "adapter() first"
        return self.conn.execute(sql, (int(ticket),)).fetchone()[0]

    def tickets_for(self, key: str) -> list[str]:
        assert self.conn is not None
        rows = self.conn.execute(
            "SELECT id FROM local_tickets WHERE incident_key = ? ORDER BY id", (key,)
        )
        return [str(r[0]) for r in rows]

    def subject(self, ticket: str) -> str:
        return str(self._one("SELECT subject FROM local_tickets WHERE id = ?", ticket))

    def texts(self, ticket: str) -> list[str]:
        assert self.conn is not None
        rows = self.conn.execute(
            "SELECT text FROM local_ticket_notes WHERE ticket_id = ? ORDER BY rowid", (int(ticket),)
        )
        return [r[0] for r in rows]

    def priority(self, ticket: str) -> int:
        return int(str(self._one("SELECT priority FROM local_tickets WHERE id = ?", ticket)))

    def queue(self, ticket: str) -> str:
        return str(self._one("SELECT queue FROM local_tickets WHERE id = ?", ticket))

    def resolved(self, ticket: str) -> bool:
        return self._one("SELECT status FROM local_tickets WHERE id = ?", ticket) == "resolved"

    def acknowledge(self, ticket: str) -> None:
        assert self.conn is not None and take(self.conn, int(ticket), "tech", 0.0)

    def misconfigured(self, kind: str) -> Misconfigured | None:
        return None  # no server, no credentials, no project, no custom field
