"""``gatewatch bench state``: bytes of rule state written to the gateway's flash per hour.

The rules stage saves the engine state every ``save_every`` seconds and after
every batch with events, inside the outbox transaction. This bench replays
that cadence on a simulated clock (N series at 1 reading/s, one batch a
second, rules of every series kind from ``bench rules``, values on a random
walk: the default step 0.02 crosses a limit now and then, ``--walk 0.3`` is an
alert storm, events every second) into a real state.db (WAL, as the
daemon opens it), twice on the same stream:

- ``whole``: the whole state at every save (what the daemon did before);
- ``incremental``: :class:`~gatewatch.daemon.state.rule_state.RuleStateStore`,
  the alerts at every save, the series every ``series_every`` seconds, only
  the rows that changed (what the daemon does now).

Per strategy it prints the JSON bytes handed to SQLite and the bytes SQLite
wrote to its files (``wchar`` of /proc/self/io: pages, WAL frames and
checkpoints), both per hour, and the CPU seconds the saves took.
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gatewatch.core.reading import Reading
from gatewatch.daemon.bench.rules import world
from gatewatch.daemon.run.rules_runtime import RulesSettings
from gatewatch.daemon.state.rule_state import RuleStateStore, ensure_schema, save_engine_state
from gatewatch.rules.engine import Engine
from gatewatch.ticketing_client.outbox import transaction
from gatewatch.ticketing_client.schema import connect_state

START = 1_700_000_000.0
Saver = Callable[[sqlite3.Connection, Engine, float], int]


def _written() -> int:
    """Bytes this process has passed to write(2) so far (0 where /proc is not there)."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return 0
    fields = dict(line.split(": ", 1) for line in text.splitlines())
    return int(fields.get("wchar", 0))


def _batches(
    series: list[tuple[str, str]], seconds: int, walk: float
) -> Iterator[tuple[float, list[Reading]]]:
    rng = random.Random(42)
    values = [50.0] * len(series)
    for s in range(seconds):
        t = START + s
        batch = []
        for k, (asset, metric) in enumerate(series):
            values[k] = min(100.0, max(0.0, values[k] + rng.gauss(0, walk)))
            batch.append(Reading("hq", asset, metric, t, values[k]))
        yield t, batch


def bench_strategy(
    name: str, n_series: int, seconds: int, series_every: float, walk: float
) -> dict[str, Any]:
    w = world(max(1, n_series // 10), n_series)
    engine = Engine(w.rules, w.assets, default_site="hq")
    settings = RulesSettings(paths=[], series_every=series_every)
    store = RuleStateStore(series_every=settings.series_every)
    save: Saver = save_engine_state if name == "whole" else store.save
    json_bytes = file_bytes = saves = events = 0
    cpu = 0.0
    last_save = -1e18
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "state.db"
        conn = connect_state(db)
        ensure_schema(conn)
        for t, batch in _batches(w.series, seconds, walk):
            out = engine.process(batch, now=t)
            if (t - START) % settings.tick_every == 0:
                out += engine.tick(t)
            events += len(out)
            if out or t - last_save >= settings.save_every:
                began, wrote = time.process_time(), _written()
                with transaction(conn):
                    json_bytes += save(conn, engine, t)
                cpu += time.process_time() - began
                file_bytes += _written() - wrote
                saves, last_save = saves + 1, t
        conn.close()
        db_bytes = sum(p.stat().st_size for p in Path(tmp).glob("state.db*"))
    per_hour = 3600.0 / seconds
    return {
        "strategy": name,
        "series": n_series,
        "simulated_s": seconds,
        "events": events,
        "saves": saves,
        "json_mb_per_h": round(json_bytes * per_hour / 1e6, 1),
        "file_mb_per_h": round(file_bytes * per_hour / 1e6, 1),
        "save_cpu_s_per_h": round(cpu * per_hour, 2),
        "state_db_mb": round(db_bytes / 1e6, 2),
    }


def run_bench_state(
    n_series: int,
    minutes: float,
    series_every: float,
    *,
    walk: float = 0.02,
    as_json: bool = False,
) -> int:
    seconds = max(60, round(minutes * 60))
    rows = [
        bench_strategy(s, n_series, seconds, series_every, walk) for s in ("whole", "incremental")
    ]
    whole, incremental = rows
    ratio = whole["file_mb_per_h"] / max(incremental["file_mb_per_h"], 1e-9)
    if as_json:
        print(json.dumps({"rows": rows, "file_bytes_ratio": round(ratio, 1)}))
        return 0
    print(
        f"rule state writes, {n_series} series at 1 reading/s, {seconds} s simulated"
        f" (saves every {RulesSettings.save_every:g} s and after events;"
        f" series every {series_every:g} s when incremental; random walk step {walk:g})"
    )
    print(f"{'strategy':<12} {'saves':>6} {'events':>6} {'JSON MB/h':>10} {'file MB/h':>10}"
          f" {'save CPU s/h':>13} {'state.db MB':>12}")  # fmt: skip
    for r in rows:
        print(
            f"{r['strategy']:<12} {r['saves']:>6} {r['events']:>6} {r['json_mb_per_h']:>10.1f}"
            f" {r['file_mb_per_h']:>10.1f} {r['save_cpu_s_per_h']:>13.2f}"
            f" {r['state_db_mb']:>12.2f}"
        )
    print(f"incremental writes {ratio:.1f}x fewer bytes to the state.db files")
    return 0
