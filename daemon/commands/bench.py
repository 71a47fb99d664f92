"""``gatewatch bench ingest|forward|rules|anomaly``: the performance benchmarks."""

from __future__ import annotations

import argparse
from typing import Any

from gatewatch.sensors.mqtt.settings import MqttSettings


def register(subparsers: Any) -> None:
    bench = subparsers.add_parser("bench", help="performance benchmarks")
    sub = bench.add_subparsers(dest="bench", required=True)
    _ingest(sub.add_parser("ingest", help="MQTT ingest throughput vs mosquitto_sub"))
    _forward(
        sub.add_parser(
            "forward", help="store-and-forward backlog drain rate vs raw writes to VictoriaMetrics"
        )
    )
    _rules(sub.add_parser("rules", help="rule engine readings/s and backtest time"))
    _anomaly(sub.add_parser("anomaly", help="anomaly throughput, training, memory, lead time"))


def dispatch(args: argparse.Namespace) -> int | None:
    if args.command != "bench":
        return None
    if args.bench == "ingest":
        from gatewatch.daemon.bench.ingest import BenchOptions, run_bench

        options = BenchOptions(
            readings=args.readings,
            series=args.series,
            publishers=args.publishers,
            qos=tuple(sorted(set(args.qos or (0, 1)))),
            rate=args.rate,
            latency_seconds=args.latency_seconds,
            rss_series=args.rss_series,
            compare=args.compare,
            synchronous=args.synchronous,
            idle=args.idle,
            receive_maximum=args.receive_maximum,
        )
        return int(run_bench(options, as_json=args.json))
    if args.bench == "forward":
        from gatewatch.daemon.bench.forward import run_bench_forward

        return int(run_bench_forward(args.readings, args.series, args.batch, as_json=args.json))
    if args.bench == "rules":
        from gatewatch.daemon.bench.rules import run_bench_rules

        return int(
            run_bench_rules(
                args.readings, args.backtest_days, as_json=args.json, profile=args.profile
            )
        )
    from gatewatch.daemon.bench.anomaly import run_bench as run_bench_anomaly

    models = ("covariance", "similarity") if args.model == "both" else (args.model,)
    return int(run_bench_anomaly(args.assets, as_json=args.json, models=models))


def _ingest(p: argparse.ArgumentParser) -> None:
    p.add_argument("--readings", type=int, default=200_000)
    p.add_argument("--series", type=int, default=1000)
    p.add_argument("--publishers", type=int, default=4)
    p.add_argument("--qos", type=int, choices=(0, 1), action="append")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="readings/s of the latency run (default: half the measured rate)",
    )
    p.add_argument(
        "--latency-seconds",
        type=float,
        default=10.0,
        help="length of the paced latency run (default 10)",
    )
    p.add_argument(
        "--rss-series",
        type=int,
        default=10_000,
        help="series of the extra peak-RSS run; 0 skips it (default 10000)",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="add a bare paho-mqtt 2.x subscriber as a comparison row",
    )
    p.add_argument(
        "--synchronous",
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="SQLite synchronous mode of the store (default FULL, as shipped)",
    )
    p.add_argument(
        "--receive-maximum",
        type=int,
        default=MqttSettings.receive_maximum,
        help="gatewatch's MQTT 5 Receive Maximum (default: the shipped default)",
    )
    p.add_argument(
        "--idle",
        type=float,
        default=3.0,
        help="seconds without a new message: the rest counts as lost",
    )


def _forward(p: argparse.ArgumentParser) -> None:
    p.add_argument("--readings", type=int, default=200_000)
    p.add_argument("--series", type=int, default=1000)
    p.add_argument("--batch", type=int, default=5000, help="readings per write request")
    p.add_argument("--json", action="store_true")


def _rules(p: argparse.ArgumentParser) -> None:
    p.add_argument("--readings", type=int, default=1_000_000, help="readings per engine run")
    p.add_argument("--backtest-days", type=float, default=30.0, help="0 skips the backtest")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="skip the profile printed when a goal is short",
    )


def _anomaly(p: argparse.ArgumentParser) -> None:
    p.add_argument("--assets", type=int, default=20, help="simulated pumps per kind")
    p.add_argument(
        "--model",
        choices=("covariance", "similarity", "both"),
        default="both",
        help="anomaly_score model to measure (anomaly.model); both: side by side with ratios",
    )
    p.add_argument("--json", action="store_true")
