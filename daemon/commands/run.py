"""``gatewatch run`` (the daemon in the foreground) and ``gatewatch demo``."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_DAMAGED = 1  # a database is damaged: the same code as an invalid configuration


def register(subparsers: Any) -> None:
    run = subparsers.add_parser("run", help="run the daemon in the foreground")
    run.add_argument("--config", required=True, type=Path)
    demo = subparsers.add_parser("demo", help="embedded broker + simulated building")
    demo.add_argument("--seconds", type=float, default=30.0)
    demo.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    demo.add_argument(
        "--http-port", type=int, default=9733, help="status page on 127.0.0.1 (0: none)"
    )


def dispatch(args: argparse.Namespace) -> int | None:
    if args.command == "run":
        return _run(args.config)
    if args.command == "demo":
        from gatewatch.daemon.demo.runner import run_demo

        return int(run_demo(args.seconds, as_json=args.json, http_port=args.http_port))
    return None


def _run(path: Path) -> int:
    from gatewatch.daemon.config.load import load_config
    from gatewatch.daemon.ops.logs import setup_logging
    from gatewatch.daemon.run.compose import serve

    cfg = load_config(path)
    setup_logging(cfg.log_level, cfg.log_format)
    if _damaged([cfg.store.path, cfg.state_db]):
        return EXIT_DAMAGED
    asyncio.run(serve(cfg, path))
    return EXIT_OK


def _damaged(paths: list[Path]) -> bool:
    """Log each damaged database (file, what is wrong, the remedy); True if any."""
    import structlog
    from gatewatch.daemon.run.preflight import check_databases

    damage = check_databases(paths)
    log = structlog.get_logger("gatewatch.run")
    for d in damage:
        log.error("store_damaged", file=str(d.path), problem=d.problem, remedy=d.remedy)
    return bool(damage)
