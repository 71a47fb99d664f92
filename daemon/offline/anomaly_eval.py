"""The detectors scored on a public benchmark (SKAB, NAB), side by side with published results."""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gatewatch.anomaly.benchmark.evaluate import NabReport, SkabReport, SkabSettings
from gatewatch.anomaly.benchmark.published import nab_table, skab_table

EXIT_OK, EXIT_INVALID = 0, 1
SKAB_COLUMNS = ("f1", "far_pct", "mar_pct", "nab_standard", "nab_low_fp", "nab_low_fn")
# anomaly-free.csv drifts for ~30 min: alarm rates when fit on more rows (outside the protocol)
LONGER_FITS = (1000, 2000, 4000)
NAB_COLUMNS = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


def evaluate(dataset: str, data: Path, detectors: list[str] | None, *, as_json: bool) -> int:
    from gatewatch.daemon.offline.benchmark_data import DatasetError

    if (problem := _unknown_detectors(dataset, detectors or [])) is not None:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    try:
        doc = _skab_doc(data, detectors) if dataset == "skab" else _nab_doc(data, detectors)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(json.dumps(doc) if as_json else _table(doc))
    return EXIT_OK


def _unknown_detectors(dataset: str, detectors: list[str]) -> str | None:
    """What is wrong with the --detector names for ``dataset``, or None."""
    from gatewatch.anomaly.benchmark.evaluate import NAB_DETECTORS, SKAB_DETECTORS

    known = {"skab": list(SKAB_DETECTORS), "nab": list(NAB_DETECTORS)}
    unknown = sorted(set(detectors) - set(known[dataset]))
    if not unknown:
        return None
    other = "nab" if dataset == "skab" else "skab"
    hint = f" (with --dataset {other})" if set(unknown) <= set(known[other]) else ""
    return (
        f"--detector {', '.join(unknown)} is not a {dataset.upper()} detector; "
        f"choose from {', '.join(known[dataset])}{hint}"
    )


def _skab_doc(data: Path, detectors: list[str] | None) -> dict[str, Any]:
    from gatewatch.anomaly.benchmark.evaluate import SKAB_DETECTORS
    from gatewatch.daemon.offline.benchmark_data import read_skab, read_skab_anomaly_free

    files = read_skab(data)
    normal = read_skab_anomaly_free(data)
    names = list(dict.fromkeys(detectors or SKAB_DETECTORS))
    runs = {n: _skab_run(files, normal, SkabSettings(detector=n)) for n in names}
    first = next(iter(runs.values()))["report"]
    title, table = skab_table([f.name for f in files])
    return {
        "dataset": "skab",
        "data": str(data),
        "protocol": "per file: fit on rows [:400], score rows [400:]; 60 s right NAB windows",
        "files": first.files,
        "test_rows": first.test_rows,
        "changepoints": first.changepoints,
        "settings": {n: r["settings"] for n, r in runs.items()},
        "columns": list(SKAB_COLUMNS),
        "ours": {n: r["scores"] for n, r in runs.items()},
        "changepoint_detail": {
            n: [asdict(c) for c in r["report"].changepoint] for n, r in runs.items()
        },
        "per_file": {n: _per_file(r["report"]) for n, r in runs.items()},
        "anomaly_free_check": {n: r["anomaly_free"] for n, r in runs.items()} if normal else None,
        "anomaly_free_longer_fit_pct": (
            {n: r["anomaly_free_longer_fit"] for n, r in runs.items()} if normal else None
        ),
        "published_title": title,
        "published": {k: dict(zip(SKAB_COLUMNS, v, strict=True)) for k, v in table.items()},
    }


def _skab_run(files: list[Any], normal: Any, settings: SkabSettings) -> dict[str, Any]:
    from gatewatch.anomaly.benchmark.evaluate import evaluate_skab, skab_false_alarms

    report: SkabReport = evaluate_skab(files, settings)
    ours = [report.f1, report.far, report.mar, *(c.score for c in report.changepoint)]
    return {
        "report": report,
        "settings": {"debounce": settings.debounce, **_jsonable(settings.model().get_params())},
        "scores": dict(zip(SKAB_COLUMNS, (round(v, 2) for v in ours), strict=True)),
        "anomaly_free": asdict(skab_false_alarms(normal, settings)) if normal else None,
        "anomaly_free_longer_fit": {
            n: skab_false_alarms(normal, settings, n).alarm_rows_pct
            for n in LONGER_FITS
            if n < normal.x.shape[0] - 100
        }
        if normal
        else None,
    }


def _per_file(report: SkabReport) -> dict[str, dict[str, float]]:
    return {
        name: {"f1": round(o.f1, 2), "far_pct": round(o.far, 2), "mar_pct": round(o.mar, 2)}
        for name, o in report.per_file.items()
    }


def _jsonable(params: dict[str, object]) -> dict[str, object]:
    return {k: v if isinstance(v, int | float | str | None) else repr(v) for k, v in params.items()}


def sensitivity(dataset: str, data: Path, *, as_json: bool) -> int:
    from gatewatch.anomaly.benchmark.sensitivity import skab_sensitivity
    from gatewatch.daemon.offline.benchmark_data import DatasetError, read_skab

    if dataset != "skab":
        print("error: --sensitivity is for --dataset skab", file=sys.stderr)
        return EXIT_INVALID
    try:
        rows = [_finite(asdict(r)) for r in skab_sensitivity(read_skab(data))]
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    doc = {"dataset": "skab", "data": str(data), "detector": "gatewatch-similarity", "rows": rows}
    print(json.dumps(doc) if as_json else _sweep_table(rows))
    return EXIT_OK


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    """JSON has no infinity: an unbounded parameter value is written as the string "inf"."""
    return {k: "inf" if isinstance(v, float) and math.isinf(v) else v for k, v in row.items()}


def _sweep_table(rows: list[dict[str, Any]]) -> str:
    cols = ("f1", "far", "mar", "nab_standard", "nab_low_fp", "nab_low_fn")
    head = f"{'parameter':<20}{'value':>8}  " + "".join(f"{c:>14}" for c in cols)
    lines = ["gatewatch-similarity: one global parameter moved at a time (* = default)", head]
    for r in rows:
        mark = "*" if r["default"] else " "
        cells = "".join(f"{r[c]:>14.2f}" if c != "f1" else f"{r[c]:>14.3f}" for c in cols)
        lines.append(f"{r['parameter']:<20}{float(r['value']):>8g}{mark} " + cells)
    return "\n".join(lines)


def _nab_doc(data: Path, detectors: list[str] | None) -> dict[str, Any]:
    from gatewatch.anomaly.benchmark.evaluate import NAB_DETECTORS, evaluate_nab
    from gatewatch.daemon.offline.benchmark_data import read_nab

    files, profiles = read_nab(data)
    names = list(dict.fromkeys(detectors or NAB_DETECTORS))
    reports: list[NabReport] = []
    seconds: dict[str, float] = {}
    for name in names:
        started = time.process_time()
        reports.append(evaluate_nab(files, profiles, name))
        seconds[name] = round(time.process_time() - started, 2)
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
        "seconds": seconds,
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
        lines.append(f"  {name}: thresholds {chosen}; {doc['seconds'][name]} s CPU")
    for name, fa in (doc.get("anomaly_free_check") or {}).items():
        lines.append(
            f"anomaly-free.csv, {name} (not in the protocol; fit on its first 400 rows): "
            f"{fa['alarm_rows_pct']:.2f} % of {fa['rows']} normal rows alarmed, "
            f"{fa['alarm_episodes']} alarm episodes"
        )
        longer = (doc.get("anomaly_free_longer_fit_pct") or {}).get(name) or {}
        if longer:
            rates = ", ".join(f"{pct:.2f} % fit on {n} rows" for n, pct in longer.items())
            lines.append(f"  same file fit on more rows: {rates}")
    lines.append(f"published: {doc['published_title']}")
    for name, row in doc["published"].items():
        lines.append(f"  {name:<34}" + "".join(f"{row[c]:>20}" for c in cols))
    if doc["dataset"] == "skab":
        lines.append(_skab_best(doc["published"]))
    return "\n".join(lines)


LOWER_IS_BETTER = frozenset({"far_pct", "mar_pct"})


def _skab_best(published: dict[str, dict[str, float]]) -> str:
    """The best published value of each column, and whose it is."""
    cells = []
    for c in SKAB_COLUMNS:
        pick = min if c in LOWER_IS_BETTER else max
        name = pick(published, key=lambda n: published[n][c])
        cells.append(f"{c} {published[name][c]} ({name})")
    return "best published per column: " + ", ".join(cells)
