#!/usr/bin/env python3
"""How much gatewatch-discord's NAB scores move when one global parameter moves.

    .venv/bin/python scripts/nab_sensitivity.py --data ../shared/data/nab [--json]

Each row changes one parameter of the detector (the others at their
defaults), runs the same causal one-pass protocol as ``gatewatch anomaly
evaluate --dataset nab`` (one threshold per profile over all the files)
and prints the three normalised scores. The defaults were chosen on the
realKnownCause files, so their row is optimistic; the spread of the other
rows is the honest error bar.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from gatewatch.anomaly.benchmark.discord import DiscordDetector
from gatewatch.anomaly.benchmark.evaluate import NabFile, evaluate_nab, nab_probation
from gatewatch.daemon.offline.benchmark_data import read_nab

VARIANTS: dict[str, tuple[Any, ...]] = {
    "window": (6, 10, 12),
    "history": (1500, 6000),
    "scale": (4.0, 5.0, 7.0, 8.0),
    "power": (1.0, 3.0),
    "quiet": (0, 50, 100, 250),
    "tolerance": (0.0, 0.1),
    "report": (0.4, 0.6),
}


def _row(files: list[NabFile], profiles: Any, name: str, value: Any) -> dict[str, Any]:
    def make(f: NabFile) -> DiscordDetector:
        kw = {name: value} if name else {}
        return DiscordDetector(learning=nab_probation(f.values.size), **kw)

    started = time.process_time()
    report = evaluate_nab(files, profiles, "gatewatch-discord", make)
    seconds = time.process_time() - started
    scores = {r.profile: round(r.score, 2) for r in report.results}
    return {"parameter": name or "(defaults)", "value": value, **scores, "s": seconds}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    files, profiles = read_nab(args.data)
    defaults = {f.name: f.default for f in fields(DiscordDetector) if not f.name.startswith("_")}
    rows = [_row(files, profiles, "", None)]
    for name, values in VARIANTS.items():
        rows += [_row(files, profiles, name, v) for v in values]
        if not args.json:
            print(f"done: {name} (default {defaults[name]})", flush=True)
    if args.json:
        print(json.dumps({"defaults": defaults, "rows": rows}))
        return 0
    cols = [p.name for p in profiles]
    print(f"{'parameter':<12}{'value':>8}" + "".join(f"{c:>20}" for c in cols) + f"{'CPU s':>8}")
    for r in rows:
        print(
            f"{r['parameter']:<12}{r['value'] if r['value'] is not None else '':>8}"
            + "".join(f"{r[c]:>20}" for c in cols)
            + f"{r['s']:>8.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
