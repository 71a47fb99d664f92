"""Replay stored history (SQLite) through current and proposed rules; the report of both."""

from __future__ import annotations

import re
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from gatewatch.core.assets import AssetRegistry
from gatewatch.core.printable import printable
from gatewatch.daemon.offline.history_prefetch import prefetched_rows
from gatewatch.daemon.offline.history_windows import windowed_rows
from gatewatch.rules.backtest import Summary, backtest
from gatewatch.rules.engine import KeyedRow
from gatewatch.rules.language.durations import format_duration, parse_duration
from gatewatch.rules.language.model import RuleSet
from gatewatch.rules.replay import History

_RELATIVE = re.compile(r"^-(.+)$")


def parse_time(text: str, now: float) -> float:
    """ISO 8601 (``2026-11-01``, ``2026-11-01T08:00:00Z``), ``now`` or ``-7d`` (before now)."""
    if text == "now":
        return now
    relative = _RELATIVE.match(text)
    if relative:
        return now - float(parse_duration(relative.group(1)))
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; add Z or +01:00")
    return stamp.timestamp()


def read_history(db: Path, start: float, end: float, *, prefetch: bool = True) -> History:
    """Every reading in [start, end) in time order, as chunks of (series id, ts, value);
    with ``prefetch`` read by a child process, a window ahead of the replay."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute("SELECT id, site, asset, metric FROM series").fetchall()
    except BaseException:
        conn.close()
        raise
    names = {sid: (site, asset, metric) for sid, site, asset, metric in rows}
    span = round(start * 1000), round(end * 1000)
    if prefetch:
        conn.close()
        return History(names, prefetched_rows(db, *span))
    return History(names, _chunks(conn, *span))


def _chunks(conn: sqlite3.Connection, start_ms: int, end_ms: int) -> Iterator[list[KeyedRow]]:
    try:
        yield from windowed_rows(conn, start_ms, end_ms)
    finally:
        conn.close()


class Progress:
    """A progress line on stderr (only on a terminal), in event time."""

    def __init__(self, start: float, end: float, label: str) -> None:
        self.start, self.span, self.label = start, max(end - start, 1.0), label
        self.shown = -1
        self.enabled = sys.stderr.isatty()

    def __call__(self, now: float) -> None:
        pct = int((now - self.start) * 100 / self.span)
        if self.enabled and pct != self.shown:
            self.shown = pct
            bar = "#" * (pct // 4)
            print(f"\r{self.label} [{bar:<25}] {pct:3d}%", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print(file=sys.stderr)


def replay_stored(
    rules: RuleSet,
    start: float,
    end: float,
    *,
    db: Path,
    assets: AssetRegistry,
    site: str,
    tick: float,
) -> tuple[Summary, float]:
    progress = Progress(start, end, "backtest")
    began = time.perf_counter()
    summary, _ = backtest(
        rules,
        assets,
        read_history(db, start, end),
        start=start,
        end=end,
        site=site,
        tick=tick,
        on_tick=progress,
    )
    progress.done()
    return summary, time.perf_counter() - began


def build_report(
    results: dict[str, tuple[Summary, float]], start: float, end: float
) -> dict[str, Any]:
    report: dict[str, Any] = {"from": start, "to": end}
    for name, (summary, seconds) in results.items():
        report[name] = {
            "readings": summary.readings,
            "seconds": round(seconds, 3),
            "alerts": summary.alerts,
            "tickets": summary.tickets,
            "rules": {rule_id: stats.as_dict() for rule_id, stats in sorted(summary.rules.items())},
        }
    if "proposed" in report:
        cur, new = report["current"], report["proposed"]
        report["difference"] = {
            "tickets": new["tickets"] - cur["tickets"],
            "alerts": new["alerts"] - cur["alerts"],
            "summary": f"would have opened {new['tickets']} tickets instead of {cur['tickets']}",
        }
    return report


def format_report(report: dict[str, Any]) -> str:
    cur, new = report["current"], report.get("proposed")
    ids = sorted(set(cur["rules"]) | set(new["rules"] if new else ()))
    header = (
        f"{'rule':<32} {'alerts':>8} {'tickets':>8} {'reopens':>8} {'updates':>8} {'firing':>10}"
    )
    lines = [header, "-" * len(header)]
    for rule_id in ids:
        lines.append(
            f"{printable(rule_id):<32} "
            + _cells(cur["rules"].get(rule_id), new and new["rules"].get(rule_id), new is not None)
        )
    lines.append("-" * len(header))
    total_cur = f"{cur['alerts']:>8} {cur['tickets']:>8}"
    lines.append(f"{'total':<32} {total_cur}")
    lines.append(f"{cur['readings']} readings in {cur['seconds']:.1f} s")
    if new is not None:
        lines.append(f"proposed: {new['alerts']} alerts, {new['tickets']} tickets")
        lines.append(report["difference"]["summary"])
    return "\n".join(lines)


def _cells(cur: dict[str, Any] | None, new: dict[str, Any] | None, compare: bool) -> str:
    def cell(key: str, width: int) -> str:
        a = _value(cur, key)
        if not compare:
            return f"{a:>{width}}"
        return f"{a + '->' + _value(new, key):>{width}}"

    return " ".join(
        cell(k, w)
        for k, w in (
            ("alerts", 8),
            ("tickets", 8),
            ("reopens", 8),
            ("updates", 8),
            ("firing_seconds", 10),
        )
    )


def _value(stats: dict[str, Any] | None, key: str) -> str:
    if stats is None:
        return "-"
    if key == "firing_seconds":
        return str(format_duration(stats[key]))
    return str(stats[key])
