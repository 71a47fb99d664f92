"""``gatewatch bench soak``: does the daemon's per-series state stay flat over time?

In one process, on a simulated clock: N series at 1 reading/s (rules of every
series kind from ``bench rules``, values on a slow random walk) through the
rule engine, the anomaly stage (metric ``m0`` of each asset doubles as its
vibration RMS, so the degradation trackers and scorers hold real history) and
the incremental rule-state saves, for a simulated duration. Every simulated
minute it records the Python heap the program holds (tracemalloc: exact, no
allocator noise, the interpreter and libraries not counted) and the process
RSS. The heap saws with the anomaly windows (each holds its 10 minutes of
readings until it closes), so growth is measured between window ends: from
the first one after the warm-up (the rules' windows filled) to the last.

This is the state the issue found growing (raw daily values, 2x rule history,
whole-state saves); MQTT, the store and HTTP are not in this loop (their soak
needs the real process: ``bench ingest`` and a real ``gatewatch run``).
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatewatch.anomaly.pipeline import AnomalyPipeline
from gatewatch.core.reading import Reading
from gatewatch.daemon.bench.rules import world
from gatewatch.daemon.config.anomaly import AnomalySettings
from gatewatch.daemon.run.rules_runtime import RulesSettings
from gatewatch.daemon.state.rule_state import RuleStateStore, ensure_schema
from gatewatch.rules.engine import Engine

START = 1_700_006_400.0  # a UTC midnight
GROWTH_GOAL_PCT = 5.0  # issue 18: < 5 % over a 2-hour soak after warm-up
VIBRATION = "vibration.rms"


@dataclass(frozen=True, slots=True)
class Sample:
    at_s: int  # simulated seconds since the start
    heap_mib: float
    rss_mib: float


def _rss_mib() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * 4096 / 2**20


def soak(n_series: int, seconds: int, warmup_s: int, sample_every: int = 60) -> dict[str, Any]:
    w = world(max(1, n_series // 10), n_series)
    engine = Engine(w.rules, w.assets, default_site="hq")
    settings = AnomalySettings()
    pipeline = AnomalyPipeline(settings.degradation)
    window = round(pipeline.window_s)
    rules = RulesSettings(paths=[])
    store = RuleStateStore(series_every=rules.series_every)
    rng = random.Random(7)
    values = [2.0] * len(w.series)
    names = [(a, VIBRATION if m == "m0" else m) for a, m in w.series]
    samples: list[Sample] = []
    events = 0
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "state.db", isolation_level=None)
        ensure_schema(conn)
        tracemalloc.start()
        try:
            for s in range(seconds + 1):
                t = START + s
                batch = []
                for k, (asset, metric) in enumerate(w.series):
                    values[k] = min(100.0, max(0.1, values[k] + rng.gauss(0, 0.02)))
                    batch.append(Reading("hq", asset, metric, t, values[k]))
                events += len(engine.process(batch, now=t))
                for r, (asset, metric) in zip(batch, names, strict=True):
                    pipeline.on_reading("hq", asset, metric, t, r.value)
                if s % rules.tick_every == 0:
                    events += len(engine.tick(t))
                if s % 60 == 0:
                    pipeline.tick(t)
                if s % rules.save_every == 0:
                    with conn:
                        store.save(conn, engine, t)
                if s % sample_every == 0:
                    heap = tracemalloc.get_traced_memory()[0] / 2**20
                    samples.append(Sample(s, round(heap, 2), round(_rss_mib(), 1)))
        finally:
            tracemalloc.stop()
            conn.close()
    ends = [x for x in samples if x.at_s % window == 0] or samples
    warm = next((x for x in ends if x.at_s >= warmup_s), ends[0])
    last = ends[-1]
    growth = 100.0 * (last.heap_mib - warm.heap_mib) / max(warm.heap_mib, 1e-9)
    hours = max((last.at_s - warm.at_s) / 3600.0, 1e-9)
    return {
        "series": n_series,
        "simulated_s": seconds,
        "warmup_s": warm.at_s,
        "wall_s": round(time.perf_counter() - began, 1),
        "events": events,
        "state_bytes_written": store.bytes_written,
        "heap_mib_after_warmup": warm.heap_mib,
        "heap_mib_end": last.heap_mib,
        "heap_growth_pct": round(growth, 2),
        "heap_growth_mib_per_h": round((last.heap_mib - warm.heap_mib) / hours, 3),
        "rss_mib_after_warmup": warm.rss_mib,
        "rss_mib_end": last.rss_mib,
        "goal_growth_pct": GROWTH_GOAL_PCT,
        "samples": [[x.at_s, x.heap_mib, x.rss_mib] for x in samples],
    }


def run_bench_soak(
    n_series: int, minutes: float, warmup_minutes: float, *, as_json: bool = False
) -> int:
    """Exit 1 when the heap grew more than the goal after warm-up (CI runs a short one)."""
    seconds, warmup = round(minutes * 60), round(warmup_minutes * 60)
    if warmup + 600 > seconds:
        print("gatewatch bench soak: --minutes must be at least --warmup + 10")
        return 2
    report = soak(n_series, seconds, warmup)
    ok = report["heap_growth_pct"] < GROWTH_GOAL_PCT
    if as_json:
        print(json.dumps({**report, "ok": ok}))
        return 0 if ok else 1
    print(
        f"soak: {n_series} series at 1 reading/s, {seconds / 60:g} simulated min"
        f" (warm-up {warmup / 60:g}), rules + anomaly + rule-state saves,"
        f" {report['wall_s']} s wall"
    )
    print(f"{'minute':>7} {'heap MiB':>9} {'RSS MiB':>8}   (at each anomaly window end)")
    for at_s, heap, rss in report["samples"]:
        if at_s % 600 == 0:
            print(f"{at_s / 60:>7.0f} {heap:>9.2f} {rss:>8.1f}")
    print(
        f"heap after warm-up {report['heap_mib_after_warmup']:.2f} MiB -> end"
        f" {report['heap_mib_end']:.2f} MiB: {report['heap_growth_pct']:+.2f} %"
        f" ({report['heap_growth_mib_per_h']:+.3f} MiB/h; goal < {GROWTH_GOAL_PCT:g} %)"
        f" {'ok' if ok else 'GROWING'}"
    )
    return 0 if ok else 1
