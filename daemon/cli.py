"""The ``gatewatch`` command. Exit codes: 0 ok, 1 invalid input, 2 usage."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gatewatch.daemon import cli_anomaly, cli_influx, cli_rules, cli_tickets
from gatewatch.sensors.yamlsource import ConfigError

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gatewatch", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the daemon in the foreground")
    run.add_argument("--config", required=True, type=Path)
    demo = sub.add_parser("demo", help="embedded broker + simulated building")
    demo.add_argument("--seconds", type=float, default=30.0)
    demo.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    demo.add_argument(
        "--http-port", type=int, default=9733, help="status page on 127.0.0.1 (0: none)"
    )
    bench = sub.add_parser("bench", help="performance benchmarks")
    bsub = bench.add_subparsers(dest="bench", required=True)
    bi = bsub.add_parser("ingest", help="MQTT ingest throughput vs mosquitto_sub")
    bi.add_argument("--readings", type=int, default=200_000)
    bi.add_argument("--series", type=int, default=1000)
    bi.add_argument("--publishers", type=int, default=4)
    bi.add_argument("--qos", type=int, choices=(0, 1), action="append")
    bi.add_argument("--json", action="store_true")
    cli_influx.register(bsub)
    from gatewatch.daemon.bench_ingest import add_arguments as add_bench_arguments

    add_bench_arguments(bi)
    cfg = sub.add_parser("config", help="configuration tools")
    csub = cfg.add_subparsers(dest="config_cmd", required=True)
    cc = csub.add_parser("check", help="validate the whole configuration")
    cc.add_argument("--config", required=True, type=Path)
    cc.add_argument("--json", action="store_true")
    cli_rules.register(sub)
    cli_anomaly.register(sub)
    cli_tickets.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `gatewatch ... | head`: the reader has gone, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush stays quiet
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    for module in (cli_influx, cli_rules, cli_anomaly, cli_tickets):
        if (code := module.dispatch(args)) is not None:
            return int(code)
    if args.command == "run":
        return _run(args.config)
    if args.command == "demo":
        from gatewatch.daemon.demo import run_demo

        return int(run_demo(args.seconds, as_json=args.json, http_port=args.http_port))
    if args.command == "bench":
        from gatewatch.daemon.bench_ingest import run_bench

        return int(run_bench(args))
    if args.command == "config":
        return _config_check(args.config, as_json=args.json)
    return EXIT_USAGE


def _run(path: Path) -> int:
    from gatewatch.daemon import stage_metrics
    from gatewatch.daemon.alerting import Alerting
    from gatewatch.daemon.config import load_config
    from gatewatch.daemon.logs import setup_logging
    from gatewatch.daemon.service import ignore_stop_signals, install_signal_handlers, run_pipeline
    from gatewatch.daemon.supervise import Supervisor
    from gatewatch.daemon.tickets_stage import TicketsStage

    cfg = load_config(path)
    setup_logging(cfg.log_level, cfg.log_format)

    async def main() -> None:
        stop = asyncio.Event()
        supervisor = Supervisor(cfg, path)
        tickets = TicketsStage(cfg)
        alerting = Alerting(cfg, tickets.ticketing)
        stage_metrics.register(supervisor, tickets, alerting)
        supervisor.reloader.subscribers.append(alerting.reload)
        install_signal_handlers(stop, reload=supervisor.reload)
        await run_pipeline(cfg, stop, hooks=[tickets, alerting, supervisor])
        ignore_stop_signals()  # drained: a second SIGTERM must not make the exit a kill

    asyncio.run(main())
    return EXIT_OK


def _config_check(path: Path, *, as_json: bool) -> int:
    import json

    from gatewatch.daemon.config import load_config

    try:
        cfg = load_config(path)
    except ConfigError as exc:
        if as_json:
            errors = [
                {
                    "file": p.location.file,
                    "line": p.location.line,
                    "column": p.location.column,
                    "message": p.message,
                }
                for p in exc.problems
            ]
            print(json.dumps({"valid": False, "errors": errors}))
            return EXIT_INVALID
        raise
    summary = {
        "valid": True,
        "config": cfg.source,
        "assets": len(cfg.assets),
        "topics": [t.pattern for t in cfg.topics],
        "store": str(cfg.store.path),
        "influxdb": cfg.influxdb.url if cfg.influxdb else None,
    }
    if as_json:
        print(json.dumps({**summary, "errors": []}))
    else:
        topics = ", ".join(t.pattern for t in cfg.topics)
        print(f"{path}: OK — {len(cfg.assets)} assets, topics {topics}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
