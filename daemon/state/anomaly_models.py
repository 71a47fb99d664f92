"""Trained anomaly models in the state database, so a restart is not a cold start.

Each asset's scorer, once trained, is saved as the versioned plain-JSON
document of :mod:`gatewatch.anomaly.persist` (never pickle) with the training
window. At start the saved models are offered back to their scorers; a model
from an older version or a damaged row is refused with a clear log line,
counted, deleted, and the scorer trains again from history as usual.
"""

from __future__ import annotations

import math
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import structlog
from gatewatch.anomaly.persist import ModelFileError
from gatewatch.anomaly.pipeline import AnomalyPipeline

log = structlog.get_logger("gatewatch.anomaly")

SCHEMA = """
CREATE TABLE IF NOT EXISTS anomaly_models (
    site TEXT NOT NULL, asset TEXT NOT NULL, trained_at REAL NOT NULL,
    saved_at REAL NOT NULL, data BLOB NOT NULL, PRIMARY KEY (site, asset)
)
"""


@dataclass(slots=True)
class ModelCounts:
    restored: int = 0
    refused: int = 0
    saved: int = 0


class ModelStore:
    """Saves each scorer's model when it (re)trains; offers them back at start."""

    def __init__(self, state_db: Path) -> None:
        self.state_db = state_db
        self.counts = ModelCounts()
        self._saved: dict[tuple[str, str], float] = {}  # trained_at of what is on disk

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.state_db, timeout=30)
        conn.execute(SCHEMA)
        return conn

    def restore(self, pipeline: AnomalyPipeline) -> int:
        """Load every saved model into its scorer; returns how many were accepted."""
        with closing(self._connect()) as conn, conn:
            sql = "SELECT site, asset, trained_at, data FROM anomaly_models"
            rows = conn.execute(sql).fetchall()
            for site, asset, trained_at, data in rows:
                if self._offer(pipeline, site, asset, bytes(data)):
                    self._saved[(site, asset)] = trained_at
                else:
                    conn.execute(
                        "DELETE FROM anomaly_models WHERE site = ? AND asset = ?", (site, asset)
                    )
        return self.counts.restored

    def _offer(self, pipeline: AnomalyPipeline, site: str, asset: str, data: bytes) -> bool:
        try:
            pipeline.scorer(site, asset).restore(data)
        except ModelFileError as exc:
            self.counts.refused += 1
            log.warning(
                "anomaly_model_refused",
                site=site,
                asset=asset,
                reason=str(exc),
                fix="nothing to do: the model is retrained from history once enough has arrived",
            )
            pipeline.scorers.pop((site, asset), None)
            return False
        self.counts.restored += 1
        return True

    def save_changed(self, pipeline: AnomalyPipeline, now: float) -> int:
        """Save the models trained since the last save (cheap when none changed)."""
        changed = [
            (key, scorer.trained_at, data)
            for key, scorer in pipeline.scorers.items()
            if not math.isnan(scorer.trained_at)
            and self._saved.get(key) != scorer.trained_at
            and (data := scorer.snapshot()) is not None
        ]
        if not changed:
            return 0
        with closing(self._connect()) as conn, conn:
            conn.executemany(
                "INSERT INTO anomaly_models (site, asset, trained_at, saved_at, data)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (site, asset) DO UPDATE SET"
                " trained_at = excluded.trained_at, saved_at = excluded.saved_at,"
                " data = excluded.data",
                [(s, a, trained, now, data) for (s, a), trained, data in changed],
            )
        for key, trained, _ in changed:
            self._saved[key] = trained
        self.counts.saved += len(changed)
        return len(changed)
