"""``gatewatch rules check|test|backtest`` and ``gatewatch bench rules``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from gatewatch.daemon import cli_silence
from gatewatch.daemon.rulefiles import find_assets, load_registry, load_rule_files, rule_paths
from gatewatch.sensors.yamlsource import ConfigError, Problem

EXIT_OK, EXIT_INVALID = 0, 1


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
    _register_bench(subparsers)
    cli_silence.register(subparsers)


def _register_bench(subparsers: Any) -> None:
    """``gatewatch bench rules``: added to the bench command's own subcommands."""
    bench = subparsers.choices.get("bench")
    actions = [
        a for a in getattr(bench, "_actions", []) if isinstance(a, argparse._SubParsersAction)
    ]
    if not actions:
        return
    b = actions[0].add_parser("rules", help="rule engine readings/s and backtest time")
    b.add_argument("--readings", type=int, default=1_000_000, help="readings per engine run")
    b.add_argument("--backtest-days", type=float, default=30.0, help="0 skips the backtest")
    b.add_argument("--json", action="store_true")
    b.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="skip the profile printed when a goal is short",
    )


def dispatch(args: argparse.Namespace) -> int | None:
    if (code := cli_silence.dispatch(args)) is not None:
        return int(code)
    if args.command == "bench" and getattr(args, "bench", None) == "rules":
        from gatewatch.daemon.bench_rules import run_bench_rules

        return int(run_bench_rules(args))
    if args.command != "rules":
        return None
    return _dispatch_rules(args)


def _dispatch_rules(args: argparse.Namespace) -> int:
    if args.rules_cmd == "check":
        return _check(args.paths, args.assets, as_json=args.json)
    if args.rules_cmd == "schema":
        return _schema(args.output)
    if args.rules_cmd == "test":
        from gatewatch.daemon.rules_test_cmd import run_tests

        return int(run_tests(args.paths, as_json=args.json, verbose=args.verbose))
    from gatewatch.daemon.rules_backtest_cmd import run_backtest

    return int(run_backtest(args))


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
    from gatewatch.rules.schema import SCHEMAS, rule_schema

    if output is None:
        print(json.dumps(rule_schema(), indent=2))
        return EXIT_OK
    output.mkdir(parents=True, exist_ok=True)
    for name, build in SCHEMAS.items():
        (output / name).write_text(json.dumps(build(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {output / name}")
    return EXIT_OK
