"""Silences added from the command line, kept in the state database with a change log.

The daemon merges these with silences.yaml (rules/language/silence.py) and hands the
active ones to ``Engine.set_silences``.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from gatewatch.rules.language.silence import MATCH_KEYS, Match, Silence

SCHEMA = """
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, match TEXT NOT NULL, starts REAL NOT NULL, ends REAL NOT NULL,
    comment TEXT NOT NULL, created_by TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS silence_log (
    seq INTEGER PRIMARY KEY, ts REAL NOT NULL, action TEXT NOT NULL, id TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""


class SilenceError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class StoredSilence:
    silence: Silence
    created_by: str
    created_at: float


def parse_match(pairs: list[str]) -> Match:
    """``["asset=pump-1", "class=lift"]`` -> Match; raise SilenceError with a fix."""
    fields: dict[str, set[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not value:
            raise SilenceError(f"--match {pair!r}: write key=value, e.g. asset=pump-1")
        if key not in MATCH_KEYS:
            raise SilenceError(f"--match {pair!r}: key must be one of {', '.join(MATCH_KEYS)}")
        fields.setdefault(key, set()).add(value)
    if not fields:
        raise SilenceError("give at least one --match key=value")
    return Match({k: frozenset(v) for k, v in fields.items()})


class SilenceStore:
    def __init__(self, state_db: Path) -> None:
        state_db.parent.mkdir(parents=True, exist_ok=True)
        self.path = state_db
        with closing(self._connect()) as conn:
            conn.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def add(
        self, match: Match, starts: float, ends: float, *, comment: str, by: str, now: float
    ) -> str:
        if ends <= starts:
            raise SilenceError("the silence must end after it starts")
        sid = uuid.uuid4().hex[:12]
        row = (sid, _dump(match), starts, ends, comment, by, now)
        with closing(self._connect()) as conn, conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO silences VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            self._log(conn, now, "add", sid, {"match": _dump(match), "ends": ends, "by": by})
        return sid

    def expire(self, sid: str, now: float, by: str) -> bool:
        with closing(self._connect()) as conn, conn:
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute(
                "UPDATE silences SET ends = ? WHERE id = ? AND ends > ?", (now, sid, now)
            )
            if cur.rowcount:
                self._log(conn, now, "expire", sid, {"by": by})
            return cur.rowcount > 0

    def active(self, now: float, *, include_expired: bool = False) -> list[StoredSilence]:
        """Silences not yet expired (all of them with ``include_expired``), by start."""
        since = -1.0 if include_expired else now
        with closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT * FROM silences WHERE ends > ? ORDER BY starts", (since,)
            ).fetchall()
        return [_row(r) for r in rows]

    def changes(self) -> list[tuple[float, str, str, str]]:
        """The change log: (time, add|expire, id, detail JSON), oldest first."""
        with closing(self._connect()) as conn:
            rows = conn.execute("SELECT ts, action, id, detail FROM silence_log ORDER BY seq")
            return [(float(a), str(b), str(c), str(d)) for a, b, c, d in rows]

    @staticmethod
    def _log(
        conn: sqlite3.Connection, now: float, action: str, sid: str, detail: dict[str, object]
    ) -> None:
        conn.execute(
            "INSERT INTO silence_log (ts, action, id, detail) VALUES (?, ?, ?, ?)",
            (now, action, sid, json.dumps(detail)),
        )


def _dump(match: Match) -> str:
    return json.dumps({k: sorted(v) for k, v in sorted(match.fields.items())})


def _row(row: tuple[object, ...]) -> StoredSilence:
    sid, match, starts, ends, comment, by, created = row
    fields = json.loads(str(match))
    silence = Silence(
        str(sid),
        Match({k: frozenset(v) for k, v in fields.items()}),
        float(starts),  # type: ignore[arg-type]
        float(ends),  # type: ignore[arg-type]
        str(comment),
    )
    return StoredSilence(silence, str(by), float(created))  # type: ignore[arg-type]
