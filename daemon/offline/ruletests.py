"""``gatewatch rules test``: run YAML rule unit tests and report failures."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gatewatch.core.printable import printable
from gatewatch.core.yamlsource import ConfigError, Problem
from gatewatch.daemon.config.files import read_text, rule_paths
from gatewatch.daemon.config.rulefiles import load_registry, load_rule_files
from gatewatch.rules.ruletest import Result, TestFile, describe, parse_test_file, run_case

EXIT_OK, EXIT_INVALID = 0, 1


def load_test_file(path: Path) -> tuple[TestFile, Any, Any]:
    """Parse a test file and load the rules and assets it names (relative to it)."""
    text = read_text(path, missing="file not found; check the path")
    problems: list[Problem] = []
    spec = parse_test_file(text, str(path), problems)
    if problems:
        raise ConfigError(problems)
    assets = load_registry(path.parent / spec.assets) if spec.assets else None
    rules = load_rule_files([path.parent / f for f in spec.rule_files], assets)
    return spec, rules, assets


def run_file(path: Path) -> list[Result]:
    spec, rules, assets = load_test_file(path)
    from gatewatch.core.assets import AssetRegistry

    registry = assets or AssetRegistry.empty()
    return [run_case(case, rules, registry) for case in spec.cases]


def run_tests(paths: list[Path], *, as_json: bool, verbose: bool = False) -> int:
    report: list[dict[str, Any]] = []
    failed = 0
    for path in rule_paths(paths):
        try:
            results = run_file(path)
        except ConfigError as exc:
            failed += 1
            report.append({"file": str(path), "errors": [str(p) for p in exc.problems]})
            if not as_json:
                for problem in exc.problems:
                    print(problem, file=sys.stderr)
            continue
        for result in results:
            failed += 0 if result.ok else 1
            report.append(_entry(path, result))
            if not as_json:
                _print(result, verbose)
    if as_json:
        print(json.dumps({"passed": failed == 0, "failed": failed, "tests": report}))
    else:
        print(f"{len(report) - failed} passed, {failed} failed")
    return EXIT_OK if failed == 0 else EXIT_INVALID


def _entry(path: Path, result: Result) -> dict[str, Any]:
    return {
        "file": str(path),
        "name": result.case.name,
        "ok": result.ok,
        "failures": list(result.failures),
        "events": len(result.events),
    }


def _print(result: Result, verbose: bool) -> None:
    status = "PASS" if result.ok else "FAIL"
    print(f"{status} {printable(result.case.where)} {printable(result.case.name)}")
    for line in result.failures:
        print(f"  {printable(line)}")
    if verbose:
        start = result.case.start
        for e in result.events:
            print(
                "   ",
                printable(describe(e.ts, e.kind, e.rule_id, e.asset.id if e.asset else "", start)),
                printable(e.title),
            )
