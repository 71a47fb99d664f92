"""``gatewatch config check``: validate the whole configuration, every problem at once."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gatewatch.core.printable import printable
from gatewatch.core.yamlsource import ConfigError
from gatewatch.daemon.config.load import Config
from gatewatch.sensors.store.influx_settings import InfluxSettings

EXIT_OK, EXIT_INVALID = 0, 1


def register(subparsers: Any) -> None:
    cfg = subparsers.add_parser("config", help="configuration tools")
    csub = cfg.add_subparsers(dest="config_cmd", required=True)
    cc = csub.add_parser("check", help="validate the whole configuration")
    cc.add_argument("--config", required=True, type=Path)
    cc.add_argument("--json", action="store_true")


def dispatch(args: argparse.Namespace) -> int | None:
    if args.command != "config":
        return None
    return _check(args.config, as_json=args.json)


def _check(path: Path, *, as_json: bool) -> int:
    from gatewatch.daemon.config.load import load_config

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
        "mappings": [m.name for m in cfg.mappings.mappings],
        "store": str(cfg.store.path),
        "forward": cfg.forward.name if cfg.forward else None,
        "influxdb": _influx_url(cfg),
    }
    if as_json:
        print(json.dumps({**summary, "errors": []}))
    else:
        topics = ", ".join(t.pattern for t in cfg.topics)
        maps = len(cfg.mappings.mappings)
        print(
            f"{printable(path)}: OK — {len(cfg.assets)} assets, topics {printable(topics)}, "
            f"{maps} mappings"
        )
    return EXIT_OK


def _influx_url(cfg: Config) -> str | None:
    """The ``influxdb`` key of ``config check --json``: the URL forwarded to, if any."""
    forward = cfg.forward
    if forward is None or not isinstance(forward.settings, InfluxSettings):
        return None
    return forward.settings.url
