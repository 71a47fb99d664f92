"""Readers for the public benchmarks' directory layouts (SKAB and NAB).

Any directory laid out like the benchmark's repository works: SKAB's
``data/<group>/<n>.csv`` (or the ``data`` folder itself), NAB's ``data/``,
``labels/combined_windows.json`` and ``config/profiles.json``. Problems are
raised as :class:`DatasetError` with what is wrong and how to fix it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import numpy as np
from gatewatch.anomaly.benchmark.evaluate import NabFile, SkabFile
from gatewatch.anomaly.benchmark.scoring import Profile


class DatasetError(Exception):
    """The data directory is not laid out like the benchmark, or a file is unreadable."""


def _seconds(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.strip()[:19]).replace(tzinfo=dt.UTC).timestamp()


def _skab_base(root: Path) -> Path:
    return root / "data" if (root / "data").is_dir() else root


def read_skab(root: Path) -> list[SkabFile]:
    """Every labelled SKAB file under ``root`` (``anomaly-free`` is left out)."""
    base = _skab_base(root)
    paths = sorted(p for p in base.rglob("*.csv") if "anomaly-free" not in p.parts)
    if not paths:
        raise DatasetError(f"{root}: no SKAB CSV files; pass the SKAB checkout or its data/ folder")
    return [_read_skab_file(p, base, labelled=True) for p in paths]


def read_skab_anomaly_free(root: Path) -> SkabFile | None:
    """``anomaly-free/anomaly-free.csv`` (normal operation only) if it is there."""
    base = _skab_base(root)
    path = base / "anomaly-free" / "anomaly-free.csv"
    return _read_skab_file(path, base, labelled=False) if path.is_file() else None


LABELS = ("anomaly", "changepoint")


def _read_skab_file(path: Path, base: Path, *, labelled: bool) -> SkabFile:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh, delimiter=";") if r]
        header = [h.strip() for h in rows[0]]
        if labelled and not set(LABELS) <= set(header):
            raise KeyError("anomaly/changepoint columns")
        sensors = [i for i, h in enumerate(header) if i > 0 and h not in LABELS]
        ts = np.array([_seconds(r[0]) for r in rows[1:]])
        data = np.array([[float(v) for v in r[1:]] for r in rows[1:]]).reshape(len(rows) - 1, -1)
    except (OSError, KeyError, IndexError, ValueError) as exc:
        raise DatasetError(
            f"{path}: not a SKAB file ({exc!r}); expected ';'-separated "
            "datetime, sensors[, anomaly, changepoint]"
        ) from None
    label = {h: data[:, header.index(h) - 1] for h in LABELS if h in header}
    zeros = np.zeros(ts.size)
    return SkabFile(
        str(path.relative_to(base)),
        ts,
        data[:, [i - 1 for i in sensors]],
        label.get("anomaly", zeros),
        label.get("changepoint", zeros),
    )


def read_nab(root: Path) -> tuple[list[NabFile], list[Profile]]:
    """The files listed in ``labels/combined_windows.json`` that exist under ``data/``."""
    windows = _json(root / "labels" / "combined_windows.json")
    profiles = _profiles(_json(root / "config" / "profiles.json"))
    files = [
        _read_nab_file(root / "data" / name, name, spans)
        for name, spans in sorted(windows.items())
        if (root / "data" / name).is_file()
    ]
    if not files:
        raise DatasetError(f"{root}/data: none of the labelled NAB files is there")
    return files, profiles


def _json(path: Path) -> dict[str, object]:
    try:
        got = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read ({exc}); pass a NAB checkout as --data") from None
    if not isinstance(got, dict):
        raise DatasetError(f"{path}: expected a JSON object")
    return got


def _profiles(raw: dict[str, object]) -> list[Profile]:
    return [_profile(name, body) for name, body in raw.items()]


def _profile(name: str, body: object) -> Profile:
    matrix = body.get("CostMatrix") if isinstance(body, dict) else None
    try:
        if not isinstance(matrix, dict):
            raise TypeError("no CostMatrix")
        return Profile(
            name,
            float(matrix["tpWeight"]),
            float(matrix["fpWeight"]),
            float(matrix["fnWeight"]),
        )
    except (KeyError, TypeError, ValueError):
        raise DatasetError(
            f"profiles.json: profile {name!r} needs CostMatrix tpWeight, fpWeight, fnWeight"
        ) from None


def _read_nab_file(path: Path, name: str, spans: object) -> NabFile:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh) if r][1:]
        stamps = [r[0].strip()[:19] for r in rows]
        values = np.array([float(r[1]) for r in rows])
        windows = [(str(a)[:19], str(b)[:19]) for a, b in spans]  # type: ignore[attr-defined]
    except (OSError, IndexError, ValueError, TypeError) as exc:
        raise DatasetError(f"{path}: not a NAB timestamp,value file ({exc!r})") from None
    return NabFile(name, stamps, values, windows)
