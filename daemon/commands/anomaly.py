"""``gatewatch anomaly evaluate``: the anomaly detectors on a public benchmark."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    an = subparsers.add_parser("anomaly", help="anomaly detection tools")
    asub = an.add_subparsers(dest="anomaly_cmd", required=True)
    ev = asub.add_parser("evaluate", help="score the detectors on a public benchmark")
    ev.add_argument("--dataset", required=True, choices=("skab", "nab"))
    ev.add_argument("--data", required=True, type=Path, help="benchmark checkout (or subset)")
    ev.add_argument(
        "--detector",
        action="append",
        metavar="NAME",
        help="a detector to score (repeatable; default all of the dataset's): SKAB "
        "gatewatch-similarity, gatewatch-asset-model; NAB gatewatch-discord, "
        "gatewatch-stream, relative-entropy",
    )
    ev.add_argument(
        "--sensitivity",
        action="store_true",
        help="SKAB only: re-run the protocol with each global parameter moved, one at a time "
        "(NAB: scripts/nab_sensitivity.py)",
    )
    ev.add_argument("--json", action="store_true")


def dispatch(args: argparse.Namespace) -> int | None:
    if args.command != "anomaly":
        return None
    from gatewatch.daemon.offline.anomaly_eval import evaluate, sensitivity

    if args.sensitivity:
        return sensitivity(args.dataset, args.data, as_json=args.json)
    return evaluate(args.dataset, args.data, args.detector, as_json=args.json)
