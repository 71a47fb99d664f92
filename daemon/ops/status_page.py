"""The read-only status page at ``/``: assets, open alerts, tickets with their history.

Plain HTML with inline CSS and an inline SVG sparkline per asset and metric
(the last hour of readings.db, averaged per minute): no JavaScript, no
external assets, every value escaped. Read at request time on the HTTP
thread through read-only connections of its own.
"""

from __future__ import annotations

import base64
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from gatewatch.core.assets import AssetRegistry

WINDOW_S = 3600  # sparkline window
BUCKET_MS = 60_000  # one point per minute
MAX_SERIES = 300
MAX_TICKETS = 100
MAX_NOTES = 50


@dataclass(frozen=True, slots=True)
class Spark:
    asset: str
    metric: str
    unit: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Note:
    ts: float
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Ticket:
    ref: str  # local ticket number, or the desk's ticket id
    incident_key: str
    subject: str
    priority: int
    status: str
    backend: str
    notes: tuple[Note, ...] = ()
    images: tuple[tuple[str, bytes], ...] = ()  # (file name, PNG): a predictive trend plot


@dataclass(frozen=True, slots=True)
class Alert:
    key: str
    status: str
    since: float


@dataclass(frozen=True, slots=True)
class StatusData:
    site: str
    now: float
    assets: AssetRegistry
    alerts: tuple[Alert, ...]
    tickets: tuple[Ticket, ...]
    sparks: tuple[Spark, ...]


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)


def read_sparks(readings_db: Path, now: float) -> list[Spark]:
    """Per-minute averages of the last hour for every series that has readings in it."""
    since = int((now - WINDOW_S) * 1000)
    with closing(_ro(readings_db)) as db:
        series = db.execute(
            "SELECT id, asset, metric, COALESCE(unit, '') FROM series ORDER BY asset, metric"
            " LIMIT ?",
            (MAX_SERIES,),
        ).fetchall()
        out = []
        for sid, asset, metric, unit in series:
            rows = db.execute(
                "SELECT AVG(value) FROM readings WHERE series_id = ? AND ts >= ?"
                " GROUP BY ts / ? ORDER BY ts / ?",
                (sid, since, BUCKET_MS, BUCKET_MS),
            ).fetchall()
            if rows:
                out.append(Spark(asset, metric, unit, tuple(float(r[0]) for r in rows)))
        return out


def read_tickets(state_db: Path) -> list[Ticket]:
    """Local tickets with their notes, and the incident -> ticket map of other desks."""
    with closing(_ro(state_db)) as db:
        local = db.execute(
            "SELECT id, incident_key, subject, priority, status FROM local_tickets"
            " ORDER BY id DESC LIMIT ?",
            (MAX_TICKETS,),
        ).fetchall()
        tickets = [
            Ticket(str(tid), key, subject, prio, status, "local", _notes(db, tid), _images(db, tid))
            for tid, key, subject, prio, status in local
        ]
        mapped = db.execute(
            "SELECT m.ticket_id, i.incident_key, i.title, i.priority, i.status, m.backend"
            " FROM ticket_incidents i JOIN ticket_map m USING (incident_key)"
            " WHERE m.backend != 'local' ORDER BY i.opened_at DESC LIMIT ?",
            (MAX_TICKETS,),
        ).fetchall()
        tickets += [Ticket(*row) for row in mapped]
        return tickets


def _notes(db: sqlite3.Connection, ticket_id: int) -> tuple[Note, ...]:
    rows = db.execute(
        "SELECT ts, kind, text FROM local_ticket_notes WHERE ticket_id = ? ORDER BY rowid LIMIT ?",
        (ticket_id, MAX_NOTES),
    )
    return tuple(Note(float(ts), kind, text) for ts, kind, text in rows)


def _images(db: sqlite3.Connection, ticket_id: int) -> tuple[tuple[str, bytes], ...]:
    try:
        rows = db.execute(
            "SELECT name, data FROM local_ticket_attachments WHERE ticket_id = ?"
            " AND content_type = 'image/png' ORDER BY id LIMIT 4",
            (ticket_id,),
        ).fetchall()
    except sqlite3.OperationalError:  # a state.db from before attachments
        return ()
    return tuple((str(name), bytes(data)) for name, data in rows)


# -- rendering (pure) -------------------------------------------------------------


def sparkline(values: Sequence[float], width: int = 120, height: int = 24) -> str:
    """An inline SVG polyline scaled to the values' range (a flat line when constant)."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}"
        for i, v in enumerate(values)
    )
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img"><polyline fill="none" stroke="#2a6" stroke-width="1.5"'
        f' points="{points}"/></svg>'
    )


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _rows(cells: Iterable[Sequence[str]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells)


def _table(head: Sequence[str], body: str, empty: str) -> str:
    if not body:
        return f'<p class="none">{escape(empty)}</p>'
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _assets(data: StatusData) -> str:
    sparks: dict[str, list[Spark]] = {}
    for s in data.sparks:
        sparks.setdefault(s.asset, []).append(s)
    rows = []
    for aid in sorted({*data.assets.assets, *sparks}):
        asset = data.assets.get(aid)
        charts = "<br>".join(
            f"{escape(s.metric)} {sparkline(s.values)} {s.values[-1]:.4g} {escape(s.unit)}"
            for s in sparks.get(aid, [])
        )
        name = escape(asset.name) if asset else ""
        where = escape(str(asset.location)) if asset else ""
        rows.append((escape(aid), name, where, charts or '<span class="none">no data</span>'))
    return _table(("Asset", "Name", "Location", "Last hour"), _rows(rows), "no assets")


def _alerts(data: StatusData) -> str:
    rows = (
        (
            escape(a.key),
            f'<span class="{escape(a.status)}">{escape(a.status)}</span>',
            _when(a.since),
        )
        for a in data.alerts
    )
    return _table(("Incident", "State", "Since (UTC)"), _rows(rows), "no open alerts")


def _history(t: Ticket) -> str:
    if not t.notes:
        return _pictures(t)
    items = "".join(
        f"<li><b>{escape(n.kind)}</b> {_when(n.ts)}<pre>{escape(n.text)}</pre></li>"
        for n in t.notes
    )
    notes = f"<details><summary>{len(t.notes)} entries</summary><ol>{items}</ol></details>"
    return _pictures(t) + notes


def _pictures(t: Ticket) -> str:
    """The ticket's PNGs inline (data: URI): the page stays one self-contained document."""
    return "".join(
        f'<img alt="{escape(name)}" title="{escape(name)}"'
        f' src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
        for name, png in t.images
    )


def _tickets(data: StatusData) -> str:
    rows = (
        (
            escape(f"{t.backend} #{t.ref}"),
            f"P{t.priority}",
            escape(t.status),
            escape(t.subject),
            escape(t.incident_key),
            _history(t),
        )
        for t in data.tickets
    )
    head = ("Ticket", "Priority", "Status", "Subject", "Incident", "History")
    return _table(head, _rows(rows), "no tickets")


STYLE = (
    "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}"
    ".firing{color:#b00;font-weight:bold}.pending{color:#a60}.none{color:#888}"
    "pre{white-space:pre-wrap;margin:2px 0 6px;font-size:12px}"
)


def render(data: StatusData) -> str:
    site = escape(data.site or "gatewatch")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{site} status</title>'
        f'<meta http-equiv="refresh" content="30"><style>{STYLE}</style></head><body>'
        f"<h1>{site}</h1><p>as of {_when(data.now)} UTC</p>"
        f'<h2>Open alerts</h2><section id="alerts">{_alerts(data)}</section>'
        f'<h2>Tickets</h2><section id="tickets">{_tickets(data)}</section>'
        f'<h2>Assets</h2><section id="assets">{_assets(data)}</section>'
        "</body></html>\n"
    )


class StatusPage:
    """Gathers the page's data at request time; ``__call__`` returns the HTML bytes."""

    def __init__(
        self,
        site: str,
        assets: AssetRegistry,
        readings_db: Path,
        state_db: Path,
        alerts: Callable[[], Iterable[tuple[str, str, float]]],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.site, self.assets, self.clock = site, assets, clock
        self.readings_db, self.state_db, self.alerts = readings_db, state_db, alerts

    def __call__(self) -> bytes:
        now = self.clock()
        data = StatusData(
            site=self.site,
            now=now,
            assets=self.assets,
            alerts=tuple(Alert(*a) for a in self.alerts()),
            tickets=tuple(read_tickets(self.state_db)),
            sparks=tuple(read_sparks(self.readings_db, now)),
        )
        return render(data).encode()
