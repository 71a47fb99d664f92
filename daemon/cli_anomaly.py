"""``gatewatch anomaly evaluate`` and ``gatewatch bench anomaly``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gatewatch.anomaly.evaluate import NabReport, SkabReport, SkabSettings
from gatewatch.anomaly.published import nab_table, skab_table

EXIT_OK, EXIT_INVALID = 0, 1
SKAB_COLUMNS = ("f1", "far_pct", "mar_pct", "nab_standard", "nab_low_fp", "nab_low_fn")
NAB_COLUMNS = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


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
        help="NAB only: a detector to score (repeatable; default all): "
        "gatewatch-discord, gatewatch-stream, relative-entropy",
    )
    ev.add_argument("--json", action="store_true")
    bench = _bench_subparsers(subparsers)
    if bench is not None:
        ba = bench.add_parser("anomaly", help="anomaly throughput, training, memory, lead time")
        ba.add_argument("--assets", type=int, default=20, help="simulated pumps per kind")
        ba.add_argument("--json", action="store_true")


def _bench_subparsers(subparsers: Any) -> Any:
    bench = subparsers.choices.get("bench")
    for action in getattr(bench, "_actions", []):
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def dispatch(args: argparse.Namespace) -> int | None:
    if args.command == "anomaly" and args.anomaly_cmd == "evaluate":
        return _evaluate(args.dataset, args.data, args.detector, as_json=args.json)
    if args.command == "bench" and getattr(args, "bench", None) == "anomaly":
        from gatewatch.daemon.bench_anomaly import run_bench

        rc: int = run_bench(args.assets, as_json=args.json)
        return rc
    return None


def _evaluate(dataset: str, data: Path, detectors: list[str] | None, *, as_json: bool) -> int:
    from gatewatch.anomaly.evaluate import NAB_DETECTORS
    from gatewatch.daemon.anomaly_data import DatasetError

    unknown = sorted(set(detectors or []) - set(NAB_DETECTORS))
    if unknown or (detectors and dataset != "nab"):
        print(
            f"error: --detector {', '.join(unknown or detectors or [])} is not a NAB detector; "
            f"choose from {', '.join(NAB_DETECTORS)} (with --dataset nab)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    try:
        doc = _skab_doc(data) if dataset == "skab" else _nab_doc(data, detectors)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(json.dumps(doc) if as_json else _table(doc))
    return EXIT_OK


def _skab_doc(data: Path) -> dict[str, Any]:
    from gatewatch.anomaly.evaluate import evaluate_skab, skab_false_alarms
    from gatewatch.daemon.anomaly_data import read_skab, read_skab_anomaly_free

    files = read_skab(data)
    normal = read_skab_anomaly_free(data)
    settings = SkabSettings()
    report: SkabReport = evaluate_skab(files, settings)
    title, table = skab_table([f.name for f in files])
    ours = [report.f1, report.far, report.mar, *(c.score for c in report.changepoint)]
    return {
        "dataset": "skab",
        "data": str(data),
        "protocol": "per file: fit on rows [:400], score rows [400:]; 60 s right NAB windows",
        "files": report.files,
        "test_rows": report.test_rows,
        "changepoints": report.changepoints,
        "settings": asdict(settings),
        "columns": list(SKAB_COLUMNS),
        "ours": {
            "gatewatch-asset-model": dict(
                zip(SKAB_COLUMNS, (round(v, 2) for v in ours), strict=True)
            )
        },
        "changepoint_detail": [asdict(c) for c in report.changepoint],
        "anomaly_free_check": asdict(skab_false_alarms(normal, settings)) if normal else None,
        "published_title": title,
        "published": {k: dict(zip(SKAB_COLUMNS, v, strict=True)) for k, v in table.items()},
    }


def _nab_doc(data: Path, detectors: list[str] | None) -> dict[str, Any]:
    from gatewatch.anomaly.evaluate import NAB_DETECTORS, evaluate_nab
    from gatewatch.daemon.anomaly_data import read_nab

    files, profiles = read_nab(data)
    names = list(dict.fromkeys(detectors or NAB_DETECTORS))
    reports: list[NabReport] = [evaluate_nab(files, profiles, d) for d in names]
    title, table = nab_table([f.name for f in files])
    return {
        "dataset": "nab",
        "data": str(data),
        "protocol": "causal one pass per file; one threshold per profile optimised on these files",
        "files": reports[0].files,
        "windows": reports[0].windows,
        "columns": list(NAB_COLUMNS),
        "ours": {r.detector: _nab_scores(r) for r in reports},
        "thresholds": {r.detector: {p.profile: p.threshold for p in r.results} for r in reports},
        "seconds": {r.detector: round(r.seconds, 2) for r in reports},
        "raw_per_file": {
            r.detector: {p.profile: p.raw_per_file for p in r.results} for r in reports
        },
        "published_title": title,
        "published": {k: dict(zip(NAB_COLUMNS, v, strict=True)) for k, v in table.items()},
    }


def _nab_scores(report: NabReport) -> dict[str, float]:
    by_name = {r.profile: r for r in report.results}
    return {c: round(by_name[c].score, 2) for c in NAB_COLUMNS if c in by_name}


def _table(doc: dict[str, Any]) -> str:
    cols: list[str] = doc["columns"]
    lines = [
        f"{doc['dataset'].upper()} — {doc['files']} files from {doc['data']}",
        f"protocol: {doc['protocol']}",
        f"{'detector':<36}" + "".join(f"{c:>20}" for c in cols),
    ]
    for name, row in doc["ours"].items():
        lines.append(f"{name + ' (this run)':<36}" + "".join(f"{row.get(c, ''):>20}" for c in cols))
    for name, ths in doc.get("thresholds", {}).items():
        chosen = ", ".join(f"{k} {v:.4f}" for k, v in ths.items())
        lines.append(f"  {name}: thresholds {chosen}; detector {doc['seconds'][name]} s CPU")
    if doc.get("anomaly_free_check"):
        fa = doc["anomaly_free_check"]
        lines.append(
            f"anomaly-free.csv (not in the protocol; fit on its first 400 rows): "
            f"{fa['alarm_rows_pct']:.2f} % of {fa['rows']} normal rows alarmed, "
            f"{fa['alarm_episodes']} alarm episodes"
        )
    lines.append(f"published: {doc['published_title']}")
    for name, row in doc["published"].items():
        lines.append(f"  {name:<34}" + "".join(f"{row[c]:>20}" for c in cols))
    return "\n".join(lines)
