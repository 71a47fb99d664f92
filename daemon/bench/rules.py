"""``gatewatch bench rules``: readings/s through the rule engine and backtest time.

Synthetic but realistic: series of assets on floors, rules of every series
kind (threshold with hysteresis, state expressions, rate, stale) selected by
class, floor and metric, values on a random walk that crosses the limits now
and then, and a clock tick every 10 s of event time.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from gatewatch.core.assets import Asset, AssetLocation, AssetRegistry, MetricSpec
from gatewatch.core.reading import Reading
from gatewatch.daemon.bench.hotspots import Hotspot, profiled
from gatewatch.daemon.offline.backtest import read_history
from gatewatch.daemon.ops.native import describe, native_build
from gatewatch.rules.backtest import backtest
from gatewatch.rules.engine import Engine
from gatewatch.rules.language.load import load_rules
from gatewatch.rules.language.model import RuleSet
from gatewatch.rules.replay import replay
from gatewatch.sensors.store.sqlite import SqliteStore

ENGINE_GOAL = 200_000.0  # readings/s with 1000 rules x 10k series
BACKTEST_GOAL = 20.0  # seconds for 30 days x 100 series at one reading a minute
T = TypeVar("T")
KINDS = (
    "when: {{above: {hi}, clear: {lo}}}\n    for: 1m",
    "when: {{expr: 'value > {hi} and delta > 0.5 or bit(value, 7)'}}",
    "when: {{rate_above: 1, window: 2m}}",
    "when: {{no_data_for: 10m}}",
)


@dataclass(frozen=True, slots=True)
class World:
    assets: AssetRegistry
    rules: RuleSet
    series: list[tuple[str, str]]


def world(n_rules: int, n_series: int, metrics_per_asset: int = 10) -> World:
    """Each rule selects one metric on one floor: every series is bound to one rule."""
    n_assets = max(1, n_series // metrics_per_asset)
    floors = max(1, n_rules // metrics_per_asset)
    metrics = [f"m{i}" for i in range(metrics_per_asset)]
    spec = MappingProxyType({m: MetricSpec() for m in metrics})
    assets = {
        f"a{i}": Asset(
            f"a{i}", "sensor", f"Asset {i}", AssetLocation("HQ", str(i % floors)), metrics=spec
        )
        for i in range(n_assets)
    }
    lines = ["rules:"]
    for i in range(n_rules):
        kind = KINDS[i % len(KINDS)].format(hi=60 + i % 30, lo=50)
        floor, metric = (i // metrics_per_asset) % floors, metrics[i % metrics_per_asset]
        lines.append(
            f"  - id: r{i}\n    select: {{class: sensor, floor: '{floor}', metric: {metric}}}"
        )
        lines.append(f"    {kind}\n    priority: P3")
    registry = AssetRegistry(MappingProxyType(assets))
    rules = load_rules([("bench.yaml", "\n".join(lines))], registry)
    series = [(a, m) for a in assets for m in metrics][:n_series]
    return World(registry, rules, series)


def readings(series: list[tuple[str, str]], count: int, start: float, step: float) -> list[Reading]:
    rng = random.Random(42)
    values = [50.0] * len(series)
    out = []
    for i in range(count):
        k = i % len(series)
        values[k] = min(100.0, max(0.0, values[k] + rng.gauss(0, 0.3)))
        asset, metric = series[k]
        out.append(Reading("hq", asset, metric, start + i * step, values[k]))
    return out


def bench_engine(
    n_rules: int, n_series: int, count: int, *, profile: bool = False
) -> dict[str, Any]:
    w = world(n_rules, n_series)
    data = readings(w.series, count, 1_700_000_000.0, 0.001)
    engine = Engine(w.rules, w.assets, default_site="hq")
    began, cpu = time.perf_counter(), time.process_time()
    events, hot = _timed(
        lambda: replay(engine, data, start=data[0].ts, until=data[-1].ts, tick=10.0), profile
    )
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    rate = count / seconds
    return {
        "rules": n_rules,
        "series": n_series,
        "rules_per_reading": round(_bindings(engine) / max(1, n_series), 2),
        "readings": count,
        "events": len(events),
        "seconds": round(seconds, 3),
        "readings_per_s": round(rate),
        "cpu_readings_per_s": round(count / cpu) if cpu > 0 else None,
        "goal_per_s": ENGINE_GOAL,
        "ratio_to_goal": round(rate / ENGINE_GOAL, 3),
        **({"profile": [h.as_dict() for h in hot]} if profile else {}),
    }


def _timed(run: Callable[[], T], profile: bool) -> tuple[T, list[Hotspot]]:
    return profiled(run) if profile else (run(), [])


def _bindings(engine: Engine) -> int:
    return sum(len(s.bindings) for s in engine._series.values())


def bench_backtest(days: float, n_series: int, *, profile: bool = False) -> dict[str, Any]:
    w = world(100, n_series)
    start = 1_700_000_000.0
    per_series = int(days * 1440)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "r.db", Path(tmp) / "s.db", synchronous="OFF")
        for minute in range(0, per_series, 1440):
            chunk = [
                Reading("hq", a, m, start + (minute + j) * 60.0, 50.0 + (j % 40))
                for j in range(min(1440, per_series - minute))
                for a, m in w.series
            ]
            store.write(chunk, [])
        store.close()
        end = start + per_series * 60.0
        db = Path(tmp) / "r.db"
        began, cpu, reader = time.perf_counter(), time.process_time(), _children_cpu()
        (summary, events), hot = _timed(
            lambda: backtest(
                w.rules, w.assets, read_history(db, start, end), start=start, end=end, site="hq"
            ),
            profile,
        )
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        reader = _children_cpu() - reader
    return {
        "cpu_seconds": round(cpu + reader, 3),
        "reader_cpu_seconds": round(reader, 3),
        "days": days,
        "series": n_series,
        "readings": summary.readings,
        "events": len(events),
        "seconds": round(seconds, 3),
        "readings_per_s": round(summary.readings / seconds),
        "goal_s": BACKTEST_GOAL * days / 30,
        "ratio_to_goal": round(BACKTEST_GOAL * days / 30 / seconds, 3),
        **({"profile": [h.as_dict() for h in hot]} if profile else {}),
    }


def _children_cpu() -> float:
    """CPU seconds of this process's finished children: the history reader."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_bench_rules(
    readings: int, backtest_days: float, *, as_json: bool = False, profile: bool = True
) -> int:
    build = native_build()
    if build.problems:  # the numbers would be those of code that is no longer in the source
        print(f"gatewatch bench rules: {describe(build)}", file=sys.stderr)
        return 1
    report: dict[str, Any] = {"engine": [], "backtest": None, "compiled": list(build.compiled)}
    if not as_json:
        print(f"rule engine: {describe(build)}")
    for n_rules, n_series in ((1000, 10_000), (10, 10)):
        result = bench_engine(n_rules, n_series, readings)
        report["engine"].append(result)
        if not as_json:
            print(_engine_line(result))
    if backtest_days > 0:
        report["backtest"] = bt = bench_backtest(backtest_days, 100)
        if not as_json:
            print(
                f"backtest {bt['days']} days x 100 series: {bt['readings']:,} readings in "
                f"{bt['seconds']:.1f} s, cpu {bt['cpu_seconds']:.1f} s (reader process"
                f" {bt['reader_cpu_seconds']:.1f} s; {bt['readings_per_s']:,}/s;"
                f" goal {bt['goal_s']:.1f} s,"
                f" {bt['ratio_to_goal']:.2f} x)"
            )
    short = [r for r in [*report["engine"], report["backtest"]] if r and r["ratio_to_goal"] < 1]
    if short and profile:
        report["profile"] = _profile_short(readings, backtest_days, as_text=not as_json)
    if as_json:
        print(json.dumps(report))
    return 0


def _profile_short(readings: int, backtest_days: float, *, as_text: bool) -> dict[str, Any]:
    """A goal is short: where the time goes, on smaller runs of the two heavy cases."""
    count, days = min(readings, 200_000), min(backtest_days or 1.0, 2.0)
    runs = {
        f"engine 1000 rules x 10000 series, {count:,} readings": bench_engine(
            1000, 10_000, count, profile=True
        )["profile"],
        f"backtest {days} days x 100 series": bench_backtest(days, 100, profile=True)["profile"],
    }
    if as_text:
        for title, hot in runs.items():
            print(f"profile, {title} (own time, top functions):")
            for h in hot:
                share, own, calls, where = h["share"], h["own_seconds"], h["calls"], h["function"]
                print(f"  {share:6.1%} {own:8.3f} s  {calls:>10}  {where}")
    return runs


def _engine_line(r: dict[str, Any]) -> str:
    return (
        f"engine {r['rules']:>5} rules x {r['series']:>6} series: {r['readings_per_s']:>9,}"
        f" readings/s, cpu {r['cpu_readings_per_s']:>9,}/s ({r['readings']:,} readings,"
        f" {r['rules_per_reading']} rules/reading, {r['events']} events,"
        f" {r['ratio_to_goal']:.2f} x goal {ENGINE_GOAL:,.0f}/s)"
    )
