"""``gatewatch rules check|test|backtest|schema``."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from gatewatch.core.yamlsource import ConfigError, Problem
from gatewatch.daemon.config.files import rule_paths
from gatewatch.daemon.config.load import load_config
from gatewatch.daemon.config.rulefiles import find_assets, load_registry, load_rule_files
from gatewatch.daemon.offline.backtest import build_report, format_report, parse_time, replay_stored
from gatewatch.rules.language.durations import DurationError

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    rules = subparsers.add_parser("rules", help="check, test and backtest alert rules")
    sub = rules.add_subparsers(dest="rules_cmd", required=True)
    check = sub.add_parser("check", help="validate rule files; all errors as file:line:col")
    check.add_argument("paths", nargs="+", type=Path)
    check.add_argument("--assets", type=Path, help="assets.yaml (default: found next to the rules)")
    check.add_argument("--json", action="store_true")
    test = sub.add_parser("test", help="run rule unit tests (YAML)")
    test.add_argument("paths", nargs="+", type=Path)
    test.add_argument("--json", action="store_true")
    test.add_argument("-v", "--verbose", action="store_true", help="print the events of each test")

    bt = sub.add_parser("backtest", help="replay stored history through the rules")
    bt.add_argument("--config", required=True, type=Path)
    bt.add_argument(
        "--from", dest="start", required=True, help="ISO 8601 time, or --from=-7d (before now)"
    )
    bt.add_argument("--to", dest="end", required=True, help="ISO 8601 time, or now")
    bt.add_argument("--rules", type=Path, nargs="+", help="proposed rules to compare")
    bt.add_argument(
        "--current", type=Path, nargs="+", help="current rules (default: rules/ next to --config)"
    )
    bt.add_argument("--tick", type=float, default=10.0, help="clock tick in seconds (default 10)")
    bt.add_argument("--json", action="store_true")

    schema = sub.add_parser("schema", help="write the JSON Schemas of rule and rule test files")
    schema.add_argument("--output", type=Path, help="directory (default: print rules schema)")


def dispatch(args: argparse.Namespace) -> int | None:
    if args.command != "rules":
        return None
    return _dispatch_rules(args)


def _dispatch_rules(args: argparse.Namespace) -> int:
    if args.rules_cmd == "check":
        return _check(args.paths, args.assets, as_json=args.json)
    if args.rules_cmd == "schema":
        return _schema(args.output)
    if args.rules_cmd == "test":
        from gatewatch.daemon.offline.ruletests import run_tests

        return int(run_tests(args.paths, as_json=args.json, verbose=args.verbose))
    return _backtest(args)


def problems_json(problems: list[Problem]) -> list[dict[str, Any]]:
    return [
        {
            "file": p.location.file,
            "line": p.location.line,
            "column": p.location.column,
            "message": p.message,
        }
        for p in problems
    ]


def _check(paths: list[Path], assets_path: Path | None, *, as_json: bool) -> int:
    files = rule_paths(paths)
    try:
        assets = load_registry(assets_path or find_assets(paths))
        rules = load_rule_files(paths, assets)
    except ConfigError as exc:
        if as_json:
            print(json.dumps({"valid": False, "errors": problems_json(exc.problems)}))
        else:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            print(f"{len(exc.problems)} problem(s) in {len(files)} file(s)", file=sys.stderr)
        return EXIT_INVALID
    summary = {
        "valid": True,
        "files": [str(f) for f in files],
        "rules": len(rules.rules),
        "assets": len(assets) if assets else None,
        "errors": [],
    }
    if as_json:
        print(json.dumps(summary))
    else:
        note = "" if assets else " (no assets.yaml found: asset ids/metrics not checked)"
        print(f"OK: {len(rules.rules)} rules in {len(files)} file(s){note}")
    return EXIT_OK


def _schema(output: Path | None) -> int:
    from gatewatch.rules.language.schema import SCHEMAS, rule_schema

    if output is None:
        print(json.dumps(rule_schema(), indent=2))
        return EXIT_OK
    output.mkdir(parents=True, exist_ok=True)
    for name, build in SCHEMAS.items():
        (output / name).write_text(json.dumps(build(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {output / name}")
    return EXIT_OK


def _backtest(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    try:
        now = time.time()
        start, end = parse_time(args.start, now), parse_time(args.end, now)
    except (ValueError, DurationError) as exc:
        print(f"error: --from/--to: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if end <= start or args.tick <= 0:
        print("error: --to must be after --from and --tick > 0", file=sys.stderr)
        return EXIT_USAGE
    current_paths = args.current or [args.config.parent / "rules"]
    current = load_rule_files(current_paths, cfg.assets)
    proposed = load_rule_files(args.rules, cfg.assets) if args.rules else None
    where = {"db": cfg.store.path, "assets": cfg.assets, "site": cfg.site, "tick": args.tick}
    try:
        results = {"current": replay_stored(current, start, end, **where)}
        if proposed is not None:
            results["proposed"] = replay_stored(proposed, start, end, **where)
    except sqlite3.Error as exc:
        print(
            f"error: cannot read the stored readings in {cfg.store.path}: {exc}; check"
            f" store.path in {args.config} (the file 'gatewatch run' records readings in)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    report = build_report(results, start, end)
    print(json.dumps(report) if args.json else format_report(report))
    return EXIT_OK
