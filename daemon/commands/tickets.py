"""``gatewatch tickets list|show`` and ``gatewatch outbox list|retry|drop``.

Both read the state database named by ``--config`` (its state_dir) or ``--state-db``.
Reporting commands print a table, or one JSON document with ``--json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gatewatch.core.events import Attachment
from gatewatch.core.printable import printable
from gatewatch.ticketing_client import outbox
from gatewatch.ticketing_client.adapters import local
from gatewatch.ticketing_client.adapters.local import attachments_of
from gatewatch.ticketing_client.schema import connect_state

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _db_args(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", type=Path, help="gatewatch.yaml (uses its state_dir)")
    where.add_argument("--state-db", type=Path, help="path of state.db")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")


def register(sub: Any) -> None:
    tickets = sub.add_parser("tickets", help="tickets and the incident -> ticket map")
    tsub = tickets.add_subparsers(dest="tickets_cmd", required=True)
    _db_args(tsub.add_parser("list", help="incidents, their tickets and lifecycle state"))
    show = tsub.add_parser("show", help="one incident or local ticket with its notes")
    show.add_argument("ref", help="incident key or local ticket id")
    show.add_argument(
        "--save-attachments", type=Path, metavar="DIR", help="write the ticket's files here"
    )
    _db_args(show)
    take = tsub.add_parser(
        "take", help="a technician takes a local ticket (acknowledges it; stops SLA escalation)"
    )
    take.add_argument("ticket", type=int, help="local ticket id (see tickets list)")
    take.add_argument("--owner", required=True, help="who takes it")
    _db_args(take)
    box = sub.add_parser("outbox", help="pending and parked ticket actions")
    bsub = box.add_subparsers(dest="outbox_cmd", required=True)
    ls = bsub.add_parser("list", help="pending and parked actions (--all: also delivered)")
    ls.add_argument("--all", action="store_true")
    _db_args(ls)
    for name, text in (("retry", "send parked actions again"), ("drop", "never send them")):
        cmd = bsub.add_parser(name, help=text)
        cmd.add_argument("ids", nargs="*", type=int, help="action ids (see outbox list)")
        if name == "retry":
            cmd.add_argument("--all-parked", action="store_true", help="every parked action")
        _db_args(cmd)


def dispatch(args: argparse.Namespace) -> int | None:
    if args.command not in ("tickets", "outbox"):
        return None
    conn = _open(args)
    if conn is None:
        return EXIT_INVALID
    try:
        if args.command == "tickets":
            return _tickets(conn, args)
        return _outbox(conn, args)
    finally:
        conn.close()


def _open(args: argparse.Namespace) -> sqlite3.Connection | None:
    path: Path = args.state_db
    if args.config is not None:
        from gatewatch.daemon.config.load import load_config

        path = load_config(args.config).state_db  # ConfigError -> exit 1 in cli.main
    if not path.exists():
        print(f"error: no state database at {path}; check --state-db/--config", file=sys.stderr)
        return None
    conn: sqlite3.Connection = connect_state(path)
    return conn


def _emit(
    doc: object, rows: Sequence[Sequence[object]], head: Sequence[str], as_json: bool
) -> None:
    if as_json:
        print(json.dumps(doc, sort_keys=True))
        return
    table = [list(map(printable, head))] + [[printable(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _when(ts: float | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


INCIDENTS_SQL = (
    "SELECT i.incident_key, i.status, i.priority, i.reopen_count, i.escalation_level,"
    " i.acknowledged, i.opened_at, m.backend, m.ticket_id,"
    " (SELECT COUNT(*) FROM ticket_outbox o WHERE o.incident_key = i.incident_key"
    "  AND o.state IN ('pending', 'parked')) FROM ticket_incidents i"
    " LEFT JOIN ticket_map m ON m.incident_key = i.incident_key"
)
INCIDENT_KEYS = (
    "incident_key",
    "status",
    "priority",
    "reopen_count",
    "escalation_level",
    "acknowledged",
    "opened_at",
    "backend",
    "ticket_id",
    "undelivered",
)


def _incidents(conn: sqlite3.Connection, key: str | None = None) -> list[dict[str, Any]]:
    sql, params = INCIDENTS_SQL, tuple[str, ...]()
    if key is not None:
        sql, params = sql + " WHERE i.incident_key = ?", (key,)
    rows = conn.execute(sql + " ORDER BY i.opened_at", params).fetchall()
    docs = [dict(zip(INCIDENT_KEYS, r, strict=True)) for r in rows]
    for d in docs:
        d["acknowledged"] = bool(d["acknowledged"])
    return docs


def _tickets(conn: sqlite3.Connection, args: argparse.Namespace) -> int:
    if args.tickets_cmd == "show":
        return _show(conn, args.ref, args.json, args.save_attachments)
    if args.tickets_cmd == "take":
        return _take(conn, args.ticket, args.owner, args.json)
    docs = _incidents(conn)
    local = _local_tickets(conn)
    head = ("INCIDENT", "STATUS", "PRIO", "BACKEND", "TICKET", "REOPENS", "ESC", "ACK", "QUEUED")
    rows = [
        (
            d["incident_key"],
            d["status"],
            f"P{d['priority']}",
            d["backend"] or "-",
            d["ticket_id"] or "(not yet)",
            d["reopen_count"],
            d["escalation_level"],
            "yes" if d["acknowledged"] else "no",
            d["undelivered"],
        )
        for d in docs
    ]
    _emit({"incidents": docs, "local_tickets": local}, rows, head, args.json)
    return EXIT_OK


def _take(conn: sqlite3.Connection, ticket: int, owner: str, as_json: bool) -> int:
    """The local desk's acknowledgement; the daemon's ack poll records it for the SLA."""
    if not owner.strip():
        print("error: --owner must name who takes the ticket", file=sys.stderr)
        return EXIT_INVALID
    with outbox.transaction(conn):
        taken = local.take(conn, ticket, owner.strip(), time.time())
    if not taken:
        print(f"error: no local ticket {ticket}; see `gatewatch tickets list`", file=sys.stderr)
        return EXIT_INVALID
    doc = _local_tickets(conn, ticket)[0]
    _emit(doc, [(doc["id"], doc["status"], doc["owner"])], ("TICKET", "STATUS", "OWNER"), as_json)
    return EXIT_OK


def _local_tickets(conn: sqlite3.Connection, ticket: int | None = None) -> list[dict[str, Any]]:
    sql = (
        "SELECT id, incident_key, subject, priority, queue, status, owner,"
        " potentially_critical, reopen_count, created, updated FROM local_tickets"
    )
    params: tuple[object, ...] = ()
    if ticket is not None:
        sql, params = sql + " WHERE id = ?", (ticket,)
    cur = conn.execute(sql + " ORDER BY id", params)
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _show(conn: sqlite3.Connection, ref: str, as_json: bool, save: Path | None = None) -> int:
    doc = _show_doc(conn, ref)
    if doc is None:
        print(
            f"error: no incident or local ticket {ref!r}; see `gatewatch tickets list`",
            file=sys.stderr,
        )
        return EXIT_INVALID
    saved = _save_files(conn, doc, save) if save is not None else []
    if as_json:
        doc["saved"] = [str(p) for p in saved]
        print(json.dumps(doc, sort_keys=True))
        return EXIT_OK
    for k, v in (doc["incident"] or {}).items():
        print(f"{k}: {printable(v)}")
    for n in doc["notes"]:
        text = printable(n["text"], lines=True)
        print(f"\n--- {printable(n['kind'])} at {_when(n['ts'])} UTC\n{text}")
    for f in doc["attachments"]:
        size = f"{printable(f['content_type'])}, {f['bytes']} bytes"
        print(f"\nattachment: {printable(f['name'])} ({size}) {printable(f['description'])}")
    for p in saved:
        print(f"saved: {p}")
    print()
    _emit(None, _action_rows(doc["actions"]), ACTION_HEAD, False)
    return EXIT_OK


def _show_doc(conn: sqlite3.Connection, ref: str) -> dict[str, Any] | None:
    """An incident (by key, or by its local ticket id) with notes and actions."""
    tickets = _local_tickets(conn, int(ref)) if ref.isdigit() else []
    key = tickets[0]["incident_key"] if tickets else ref
    incidents = _incidents(conn, key)
    if not incidents and not tickets:
        return None
    if not tickets:
        tickets = [t for t in _local_tickets(conn) if t["incident_key"] == key][-1:]
    every = ("pending", "parked", "done", "dropped")
    return {
        "incident": incidents[0] if incidents else None,
        "local_ticket": tickets[0] if tickets else None,
        "notes": _notes(conn, tickets[0]["id"] if tickets else -1),
        "attachments": [_file_doc(a) for a in attachments_of(conn, _id(tickets))],
        "actions": [_row_doc(r) for r in outbox.list_rows(conn, every) if r.incident_key == key],
    }


def _id(tickets: list[dict[str, Any]]) -> int:
    return int(tickets[0]["id"]) if tickets else -1


def _file_doc(a: Attachment) -> dict[str, Any]:
    return {
        "name": a.name,
        "content_type": a.content_type,
        "description": a.description,
        "bytes": len(a.data),
        "sha256": hashlib.sha256(a.data).hexdigest(),
    }


def _save_files(conn: sqlite3.Connection, doc: dict[str, Any], where: Path) -> list[Path]:
    """The local ticket's files into ``where`` (named by ticket id and file name)."""
    ticket = doc["local_ticket"]
    if ticket is None:
        return []
    where.mkdir(parents=True, exist_ok=True)
    out = []
    for a in attachments_of(conn, int(ticket["id"])):
        path = where / f"ticket-{ticket['id']}-{Path(a.name).name}"
        path.write_bytes(a.data)
        out.append(path)
    return out


def _notes(conn: sqlite3.Connection, ticket_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT ts, kind, text FROM local_ticket_notes WHERE ticket_id = ? ORDER BY rowid",
        (ticket_id,),
    )
    return [{"ts": ts, "kind": kind, "text": text} for ts, kind, text in rows]


ACTION_HEAD = ("ID", "INCIDENT", "KIND", "STATE", "ATTEMPTS", "NEXT ATTEMPT (UTC)", "LAST ERROR")


def _row_doc(r: outbox.OutboxRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "incident_key": r.incident_key,
        "kind": r.kind,
        "state": r.state,
        "attempts": r.attempts,
        "next_attempt": r.next_attempt,
        "created": r.created,
        "last_error": r.last_error,
    }


def _action_rows(docs: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    return [
        (
            d["id"],
            d["incident_key"],
            d["kind"],
            d["state"],
            d["attempts"],
            _when(d["next_attempt"]) if d["state"] == "pending" else "-",
            d["last_error"][:80],
        )
        for d in docs
    ]


def _outbox(conn: sqlite3.Connection, args: argparse.Namespace) -> int:
    if args.outbox_cmd == "list":
        states = ("pending", "parked", "done", "dropped") if args.all else ("pending", "parked")
        docs = [_row_doc(r) for r in outbox.list_rows(conn, states)]
        doc = {"actions": docs, "counts": outbox.counts(conn)}
        _emit(doc, _action_rows(docs), ACTION_HEAD, args.json)
        return EXIT_OK
    if not args.ids and not getattr(args, "all_parked", False):
        print("error: name action ids (see `gatewatch outbox list`)", file=sys.stderr)
        return EXIT_USAGE
    now = time.time()
    with outbox.transaction(conn):
        if args.outbox_cmd == "retry":
            n = outbox.retry(conn, None if args.all_parked else args.ids, now)
        else:
            n = outbox.drop(conn, args.ids, now)
    verb = "queued for retry" if args.outbox_cmd == "retry" else "dropped"
    if args.json:
        print(json.dumps({"changed": n, "action": args.outbox_cmd}))
    else:
        print(f"{n} action(s) {verb}")
    return EXIT_OK
