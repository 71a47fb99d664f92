"""The durable outbox: ticket actions as rows of the state database.

``enqueue`` and ``enqueue_due_escalations`` write the incident's new lifecycle
state and its actions with the caller's connection and inside the caller's
transaction: they never commit, so the alert state change that caused them and
the actions commit (or roll back) together. Everything else (the worker's
bookkeeping, the operator commands) commits its own short transactions.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from gatewatch.core.events import AlertEvent, Escalation, TicketPolicy
from gatewatch.ticketing_client.actions import QueuedAction, TicketAction
from gatewatch.ticketing_client.attachments import MAX_BYTES, too_large
from gatewatch.ticketing_client.lifecycle import (
    IncidentState,
    Status,
    due_escalations,
    on_event,
)

Db = sqlite3.Connection | sqlite3.Cursor
log = structlog.get_logger("gatewatch.ticketing")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection.

    A failed COMMIT (disk full) rolls back too, so the connection never stays inside a
    dead transaction, and the ROLLBACK is skipped when SQLite already rolled back (it
    does on SQLITE_FULL): a second one would raise "no transaction is active" and hide
    the real error, which is what the caller gets."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def _policy_json(policy: TicketPolicy) -> str:
    return json.dumps(asdict(policy), separators=(",", ":"))


def _policy(text: str) -> TicketPolicy:
    raw = json.loads(text)
    raw["escalations"] = tuple(Escalation(**e) for e in raw.get("escalations", ()))
    return TicketPolicy(**raw)


_STATE_COLUMNS = (
    "incident_key, status, priority, opened_at, policy, title, resolved_at,"
    " reopen_count, escalation_level, acknowledged, last_update, acknowledged_at"
)


def _state(row: tuple[Any, ...]) -> IncidentState:
    return IncidentState(
        key=row[0],
        status=Status(row[1]),
        priority=row[2],
        opened_at=row[3],
        policy=_policy(row[4]),
        title=row[5],
        resolved_at=row[6],
        reopen_count=row[7],
        escalation_level=row[8],
        acknowledged=bool(row[9]),
        last_update=row[10],
        acknowledged_at=row[11],
    )


def load_state(db: Db, key: str) -> IncidentState | None:
    row = db.execute(
        f"SELECT {_STATE_COLUMNS} FROM ticket_incidents WHERE incident_key = ?",  # noqa: S608
        (key,),
    ).fetchone()
    return None if row is None else _state(row)


def save_state(db: Db, s: IncidentState) -> None:
    db.execute(
        f"INSERT OR REPLACE INTO ticket_incidents ({_STATE_COLUMNS})"  # noqa: S608
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            s.key,
            str(s.status),
            s.priority,
            s.opened_at,
            _policy_json(s.policy),
            s.title,
            s.resolved_at,
            s.reopen_count,
            s.escalation_level,
            int(s.acknowledged),
            s.last_update,
            s.acknowledged_at,
        ),
    )


def ticket_ids(db: Db, keys: tuple[str, ...]) -> dict[str, str]:
    if not keys:
        return {}
    marks = ",".join("?" * len(keys))
    rows = db.execute(
        f"SELECT incident_key, ticket_id FROM ticket_map WHERE incident_key IN ({marks})",  # noqa: S608
        keys,
    )
    return dict(rows)


def add_actions(db: Db, actions: list[TicketAction], created: float) -> list[int]:
    """Insert actions, due at once: a sensor clock running ahead never delays a ticket."""
    ids = []
    for a in actions:
        cur = db.execute(
            "INSERT INTO ticket_outbox (incident_key, kind, payload, next_attempt, created)"
            " VALUES (?, ?, ?, 0, ?)",
            (a.incident_key, str(a.kind), a.to_json(), created),
        )
        ids.append(int(cur.lastrowid or 0))
    return ids


def enqueue(db: Db, event: AlertEvent, now: float | None = None) -> list[int]:
    """Apply one AlertEvent to its incident; queue the resulting actions (no commit)."""
    _log_oversized(event)
    state = load_state(db, event.incident_key)
    new, actions = on_event(state, event, ticket_ids(db, event.related))
    if new is not None and new != state:
        save_state(db, new)
    return add_actions(db, actions, event.ts if now is None else now)


def _log_oversized(event: AlertEvent) -> None:
    for a in event.attachments:
        if (why := too_large(a)) is not None:
            log.warning(
                "ticket_attachment_too_large",
                incident=event.incident_key,
                attachment=a.name,
                bytes=len(a.data),
                cap=MAX_BYTES,
                note=f"not queued: {why}; the ticket text says so",
            )


def enqueue_due_escalations(db: Db, now: float) -> list[int]:
    """Queue every SLA escalation level that fell due at ``now`` (no commit)."""
    rows = db.execute(
        f"SELECT {_STATE_COLUMNS} FROM ticket_incidents WHERE status = 'firing'"  # noqa: S608
        " AND acknowledged = 0"
    ).fetchall()
    ids: list[int] = []
    for row in rows:
        state = _state(row)
        if state.escalation_level >= len(state.policy.escalations):
            continue
        new, actions = due_escalations(state, now)
        if actions and new is not None:
            save_state(db, new)
            ids += add_actions(db, actions, now)
    return ids


_ROW_COLUMNS = "id, payload, state, attempts, next_attempt, created, attempt_started, last_error"


def _queued(row: tuple[Any, ...]) -> QueuedAction:
    return QueuedAction(
        id=row[0],
        action=TicketAction.from_json(row[1]),
        state=row[2],
        attempts=row[3],
        next_attempt=row[4],
        created=row[5],
        attempt_started=row[6],
        last_error=row[7],
    )


def due_heads(db: Db, now: float, exclude: set[str], limit: int) -> list[QueuedAction]:
    """The oldest undelivered action of each incident, when due and not parked."""
    rows = db.execute(
        f"SELECT {_ROW_COLUMNS} FROM ticket_outbox WHERE id IN ("  # noqa: S608
        " SELECT MIN(id) FROM ticket_outbox WHERE state IN ('pending', 'parked')"
        " GROUP BY incident_key) AND state = 'pending' AND next_attempt <= ? ORDER BY id",
        (now,),
    )
    out = []
    for row in rows:
        q = _queued(row)
        if q.action.incident_key not in exclude:
            out.append(q)
            if len(out) >= limit:
                break
    return out


def next_head_due(db: Db, exclude: set[str]) -> float | None:
    """When the earliest eligible head action (incident not in ``exclude``) falls due."""
    rows = db.execute(
        "SELECT incident_key, next_attempt FROM ticket_outbox WHERE id IN ("
        " SELECT MIN(id) FROM ticket_outbox WHERE state IN ('pending', 'parked')"
        " GROUP BY incident_key) AND state = 'pending'"
    )
    times = [float(t) for key, t in rows if key not in exclude]
    return min(times) if times else None


def next_due(db: Db) -> float | None:
    row = db.execute(
        "SELECT MIN(next_attempt) FROM ticket_outbox WHERE state = 'pending'"
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def mapped_ticket(db: Db, key: str) -> str | None:
    row = db.execute("SELECT ticket_id FROM ticket_map WHERE incident_key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def mark_started(db: Db, action_id: int, now: float) -> None:
    db.execute("UPDATE ticket_outbox SET attempt_started = ? WHERE id = ?", (now, action_id))


def mark_done(
    db: Db, q: QueuedAction, now: float, *, backend: str, ticket_id: str | None, acked: bool
) -> Ack | None:
    """Record a delivery: the map incident -> ticket, the row done, acknowledgement."""
    key = q.action.incident_key
    if ticket_id is not None:
        db.execute(
            "INSERT INTO ticket_map (incident_key, backend, ticket_id, mapped_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (incident_key) DO UPDATE SET"
            " backend = excluded.backend, ticket_id = excluded.ticket_id,"
            " mapped_at = excluded.mapped_at WHERE ticket_id != excluded.ticket_id",
            (key, backend, ticket_id, now),
        )
    db.execute(
        "UPDATE ticket_outbox SET state = 'done', done_at = ?, attempts = attempts + 1,"
        " last_error = '', attempt_started = NULL WHERE id = ?",
        (now, q.id),
    )
    return mark_acknowledged(db, key, now) if acked else None


@dataclass(frozen=True, slots=True)
class Ack:
    """A person took the ticket of an incident: once per ticket opening (or reopening)."""

    incident_key: str
    priority: int  # the incident's priority when it was acknowledged
    seconds: float  # from the ticket's opening (the SLA clock's start) to the acknowledgement


def mark_acknowledged(db: Db, key: str, now: float) -> Ack | None:
    """Record the acknowledgement of an open incident; None when already recorded."""
    row = db.execute(
        "SELECT priority, opened_at FROM ticket_incidents WHERE incident_key = ?"
        " AND acknowledged = 0 AND status != 'resolved'",
        (key,),
    ).fetchone()
    if row is None:
        return None
    db.execute(
        "UPDATE ticket_incidents SET acknowledged = 1, acknowledged_at = ? WHERE incident_key = ?",
        (now, key),
    )
    return Ack(key, int(row[0]), max(0.0, now - float(row[1])))


def unacknowledged(db: Db) -> list[tuple[str, str]]:
    """(incident key, ticket id) of the open tickets nobody has taken yet, oldest first."""
    rows = db.execute(
        "SELECT i.incident_key, m.ticket_id FROM ticket_incidents i JOIN ticket_map m"
        " ON m.incident_key = i.incident_key WHERE i.status != 'resolved' AND i.acknowledged = 0"
        " ORDER BY i.opened_at"
    )
    return [(str(k), str(t)) for k, t in rows]


def mark_retry(
    db: Db, action_id: int, next_attempt: float, reason: str, *, maybe_delivered: bool
) -> None:
    """Schedule the next attempt; keep attempt_started when the outcome is unknown."""
    db.execute(
        "UPDATE ticket_outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?,"
        " attempt_started = CASE WHEN ? THEN attempt_started END WHERE id = ?",
        (next_attempt, reason[:2000], int(maybe_delivered), action_id),
    )


def release_backoff(db: Db, now: float) -> int:
    """The desk answers again: actions waiting out a backoff (not a Retry-After) go now."""
    return db.execute(
        "UPDATE ticket_outbox SET next_attempt = ? WHERE state = 'pending' AND attempts > 0"
        " AND next_attempt > ? AND (last_error LIKE 'cannot reach%' OR last_error LIKE"
        " 'timeout%' OR last_error LIKE 'HTTP 5%')",
        (now, now),
    ).rowcount


def mark_parked(db: Db, action_id: int, reason: str) -> None:
    db.execute(
        "UPDATE ticket_outbox SET state = 'parked', attempts = attempts + 1, last_error = ?,"
        " attempt_started = NULL WHERE id = ?",
        (reason[:2000], action_id),
    )


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    incident_key: str
    kind: str
    state: str
    attempts: int
    next_attempt: float
    created: float
    last_error: str


def list_rows(db: Db, states: tuple[str, ...] = ("pending", "parked")) -> list[OutboxRow]:
    marks = ",".join("?" * len(states))
    rows = db.execute(
        "SELECT id, incident_key, kind, state, attempts, next_attempt, created, last_error"  # noqa: S608
        f" FROM ticket_outbox WHERE state IN ({marks}) ORDER BY id",
        states,
    )
    return [OutboxRow(*r) for r in rows]


def counts(db: Db) -> dict[str, int]:
    rows = db.execute("SELECT state, COUNT(*) FROM ticket_outbox GROUP BY state")
    return dict(rows)


def retry(db: Db, ids: list[int] | None, now: float) -> int:
    """Parked (or waiting) actions back to pending, due now; all parked when ids is None."""
    if ids is None:
        cur = db.execute(
            "UPDATE ticket_outbox SET state = 'pending', next_attempt = ? WHERE state = 'parked'",
            (now,),
        )
        return cur.rowcount
    n = 0
    for i in ids:
        n += db.execute(
            "UPDATE ticket_outbox SET state = 'pending', next_attempt = ?"
            " WHERE id = ? AND state IN ('parked', 'pending')",
            (now, i),
        ).rowcount
    return n


def drop(db: Db, ids: list[int], now: float) -> int:
    """Operator decision: these actions will never be delivered (kept as 'dropped')."""
    n = 0
    for i in ids:
        n += db.execute(
            "UPDATE ticket_outbox SET state = 'dropped', done_at = ? WHERE id = ? AND state IN"
            " ('parked', 'pending')",
            (now, i),
        ).rowcount
    return n


def prune_done(db: Db, before: float) -> int:
    return db.execute(
        "DELETE FROM ticket_outbox WHERE state IN ('done', 'dropped') AND done_at < ?", (before,)
    ).rowcount
