"""``gatewatch map test TOPIC PAYLOAD`` / ``map test --file samples.yaml``: what the
configured mappings make of a message (readings, each field's fate, dead letters).
Exit 0 when every sample gives what it should (ad hoc: no dead letter), else 1."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from gatewatch.core.yamlsource import ConfigError, Location, Problem

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "gatewatch.yaml"
INSTALLED_CONFIG = Path("/etc/gatewatch/gatewatch.yaml")


def register(subparsers: Any) -> None:
    cmd = subparsers.add_parser("map", help="try payload mappings on sample messages")
    sub = cmd.add_subparsers(dest="map_cmd", required=True)
    test = sub.add_parser(
        "test", help="decode TOPIC PAYLOAD (or --file samples) as the daemon would"
    )
    test.add_argument("topic", nargs="?")
    test.add_argument("payload", nargs="?")
    test.add_argument(
        "--file", type=Path, help="a samples file (samples: [{topic, payload, readings}])"
    )
    test.add_argument(
        "--config",
        type=Path,
        help=f"gatewatch.yaml whose mappings to use (default: the example, {EXAMPLE_CONFIG})",
    )
    test.add_argument("--now", type=float, help="receive time in epoch seconds (default: now)")
    test.add_argument("--json", action="store_true")


def dispatch(args: argparse.Namespace) -> int | None:
    if args.command != "map":
        return None
    from gatewatch.daemon.config.load import load_config
    from gatewatch.daemon.offline.maptest import (
        Sample,
        format_outcome,
        load_samples,
        outcome_json,
        run_samples,
    )

    if (args.file is None) == (args.topic is None) or (args.topic is None) != (
        args.payload is None
    ):
        print("error: give TOPIC and PAYLOAD, or --file samples.yaml", flush=True)
        return EXIT_USAGE
    cfg = load_config(_config_path(args.config))
    samples = load_samples(args.file) if args.file else [Sample(args.topic, args.payload.encode())]
    outcomes = run_samples(cfg, samples, args.now if args.now is not None else time.time())
    ok = all(o.ok for o in outcomes)
    if args.json:
        print(
            json.dumps(
                {"config": cfg.source, "ok": ok, "messages": [outcome_json(o) for o in outcomes]}
            )
        )
    else:
        for o in outcomes:
            print("\n".join(format_outcome(o)))
        print(f"{sum(o.ok for o in outcomes)}/{len(outcomes)} ok ({cfg.source})")
    return EXIT_OK if ok else EXIT_INVALID


def _config_path(given: Path | None) -> Path:
    if given is not None:
        return given
    for candidate in (EXAMPLE_CONFIG, INSTALLED_CONFIG):
        if candidate.is_file():
            return candidate
    where = Location(str(EXAMPLE_CONFIG), 1, 1)
    raise ConfigError([Problem(where, "no example config here; pass --config PATH")])
