"""``gatewatch deadletters list|show``: what ingest refused and why.

Reads ``dead_letters`` of the state database named by ``--config`` (its state_dir) or
``--state-db``, read-only (safe while the daemon runs). A table, or one JSON document
with ``--json``. Exit codes: 0 shown, 1 no such database or dead letter.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gatewatch.daemon.commands.tickets import _db_args, _emit, _when
from gatewatch.sensors.store.dead_letters import (
    NoDeadLettersError,
    StoredDeadLetter,
    one,
    open_dead_letters,
    recent,
)
from gatewatch.sensors.store.sqlite import count_dead_letters

EXIT_OK, EXIT_INVALID = 0, 1
DETAIL_WIDTH = 90


def register(sub: Any) -> None:
    p = sub.add_parser("deadletters", help="payloads and readings ingest refused, and why")
    dsub = p.add_subparsers(dest="deadletters_cmd", required=True)
    ls = dsub.add_parser("list", help="the newest dead letters, with the count per reason")
    ls.add_argument("--reason", help="only this reason (bad_json, conflict, ...)")
    ls.add_argument("--topic", help="only topics containing this text")
    ls.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    _db_args(ls)
    show = dsub.add_parser("show", help="one dead letter with its payload")
    show.add_argument("id", type=int, help="dead letter id (see deadletters list)")
    _db_args(show)


def dispatch(args: argparse.Namespace) -> int | None:
    if args.command != "deadletters":
        return None
    path: Path = args.state_db
    if args.config is not None:
        from gatewatch.daemon.config.load import load_config

        path = load_config(args.config).state_db  # ConfigError -> exit 1 in cli.main
    try:
        conn = open_dead_letters(path)
    except NoDeadLettersError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        if args.deadletters_cmd == "list":
            return _list(conn, args)
        return _show(conn, args)
    finally:
        conn.close()


def _list(conn: Any, args: argparse.Namespace) -> int:
    counts = count_dead_letters(conn)
    letters = recent(conn, reason=args.reason, topic=args.topic, limit=args.limit)
    doc = {"counts": counts, "dead_letters": [_doc(d) for d in letters]}
    if not args.json:
        total = sum(counts.values())
        by_reason = ", ".join(f"{r} {n}" for r, n in sorted(counts.items())) or "none"
        print(f"{total} dead letters ({by_reason}); newest first, at most {args.limit}:")
    rows = [
        (d.id, _when(d.received_at), d.reason, d.topic, _short(d.detail, DETAIL_WIDTH))
        for d in letters
    ]
    _emit(doc, rows, ("ID", "RECEIVED (UTC)", "REASON", "TOPIC", "DETAIL"), args.json)
    return EXIT_OK


def _show(conn: Any, args: argparse.Namespace) -> int:
    d = one(conn, args.id)
    if d is None:
        print(f"error: no dead letter {args.id}; see `gatewatch deadletters list`", file=sys.stderr)
        return EXIT_INVALID
    doc = _doc(d)
    rows = [
        ("id", d.id),
        ("received", f"{_when(d.received_at)} UTC"),
        ("topic", d.topic),
        ("reason", d.reason),
        ("detail", d.detail),
        ("payload", f"{len(d.payload)} bytes (the first ones kept)"),
    ]
    _emit(doc, rows, ("FIELD", "VALUE"), args.json)
    if not args.json:
        print(doc["payload_text"] if doc["payload_utf8"] else doc["payload_hex"])
    return EXIT_OK


def _doc(d: StoredDeadLetter) -> dict[str, object]:
    try:
        text, utf8 = d.payload.decode("utf-8"), True
    except UnicodeDecodeError:
        text, utf8 = d.payload.decode("utf-8", "backslashreplace"), False
    return {
        "id": d.id,
        "received_at": d.received_at,
        "received": _when(d.received_at),
        "topic": d.topic,
        "reason": d.reason,
        "detail": d.detail,
        "payload_text": text,
        "payload_utf8": utf8,
        "payload_hex": d.payload.hex(" "),
    }


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
