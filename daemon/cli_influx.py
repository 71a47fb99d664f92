"""``gatewatch bench forward``: the InfluxDB store-and-forward benchmark."""

from __future__ import annotations

import argparse
from typing import Any


def register(bench_subparsers: Any) -> None:
    """Add ``forward`` under ``gatewatch bench``."""
    p = bench_subparsers.add_parser(
        "forward", help="store-and-forward backlog drain rate vs raw writes to VictoriaMetrics"
    )
    p.add_argument("--readings", type=int, default=200_000)
    p.add_argument("--series", type=int, default=1000)
    p.add_argument("--batch", type=int, default=5000, help="readings per write request")
    p.add_argument("--json", action="store_true")


def dispatch(args: argparse.Namespace) -> int | None:
    if args.command != "bench" or args.bench != "forward":
        return None
    from gatewatch.daemon.bench_forward import run_bench_forward

    return int(run_bench_forward(args))
