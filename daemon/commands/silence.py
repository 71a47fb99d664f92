"""``gatewatch silence add|list|expire``: silences in the state database, each change logged."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from pathlib import Path
from typing import Any

from gatewatch.core.printable import printable
from gatewatch.daemon.offline.backtest import parse_time
from gatewatch.daemon.state.silences import SilenceError, SilenceStore, parse_match
from gatewatch.rules.language.durations import DurationError, format_duration, parse_duration

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("silence", help="silences and maintenance windows")
    sub = p.add_subparsers(dest="silence_cmd", required=True)
    add = sub.add_parser("add", help="mute tickets matching asset/rule/location until an expiry")
    add.add_argument("--config", required=True, type=Path)
    add.add_argument("--match", action="append", default=[], help="key=value (repeatable)")
    add.add_argument("--for", dest="duration", help="duration, e.g. 2h")
    add.add_argument("--until", help="ISO 8601 end time")
    add.add_argument("--starts", default="now", help="ISO 8601 start (default now)")
    add.add_argument("--comment", required=True, help="why (shown in the log)")
    add.add_argument("--by", default=None, help="who (default: the login name)")
    ls = sub.add_parser("list", help="active silences")
    ls.add_argument("--config", required=True, type=Path)
    ls.add_argument("--all", action="store_true", help="include expired ones")
    ls.add_argument("--json", action="store_true")
    ex = sub.add_parser("expire", help="end a silence now")
    ex.add_argument("--config", required=True, type=Path)
    ex.add_argument("id")
    ex.add_argument("--by", default=None)


def dispatch(args: argparse.Namespace) -> int | None:
    if args.command != "silence":
        return None
    from gatewatch.daemon.config.load import load_config

    store = SilenceStore(load_config(args.config).state_db)
    now = time.time()
    try:
        if args.silence_cmd == "add":
            return _add(store, args, now)
        if args.silence_cmd == "list":
            return _list(store, args, now)
        ok = store.expire(args.id, now, args.by or _user())
        print(f"expired {args.id}" if ok else f"no active silence {args.id}", file=sys.stderr)
        return EXIT_OK if ok else EXIT_INVALID
    except (SilenceError, DurationError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _add(store: SilenceStore, args: argparse.Namespace, now: float) -> int:
    match = parse_match(args.match)
    starts = parse_time(args.starts, now)
    if (args.duration is None) == (args.until is None):
        raise SilenceError("give exactly one of --for DURATION or --until TIME")
    ends = starts + parse_duration(args.duration) if args.duration else parse_time(args.until, now)
    sid = store.add(match, starts, ends, comment=args.comment, by=args.by or _user(), now=now)
    print(sid)
    return EXIT_OK


def _list(store: SilenceStore, args: argparse.Namespace, now: float) -> int:
    items = store.active(now, include_expired=args.all)
    if args.json:
        rows = [
            {
                "id": s.silence.id,
                "match": {k: sorted(v) for k, v in s.silence.match.fields.items()},
                "starts": s.silence.starts,
                "ends": s.silence.ends,
                "comment": s.silence.comment,
                "created_by": s.created_by,
                "created_at": s.created_at,
            }
            for s in items
        ]
        print(json.dumps({"silences": rows}))
        return EXIT_OK
    print(f"{'id':<13} {'match':<30} {'ends in':>9}  comment")
    for s in items:
        match = ",".join(f"{k}={'|'.join(sorted(v))}" for k, v in s.silence.match.fields.items())
        left = format_duration(s.silence.ends - now) if s.silence.ends > now else "expired"
        sid, match, who = printable(s.silence.id), printable(match), printable(s.created_by)
        print(f"{sid:<13} {match:<30} {left:>9}  {printable(s.silence.comment)} ({who})")
    return EXIT_OK
