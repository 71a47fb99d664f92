"""`gatewatch bench forward` runs against a real VictoriaMetrics and reports figures."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_bench_forward_json_is_one_document_with_nothing_lost() -> None:
    args = ["--readings", "3000", "--series", "10", "--batch", "500", "--json"]
    out = subprocess.run(
        [sys.executable, "-m", "gatewatch.daemon.commands.main", "bench", "forward", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    doc = json.loads(out.stdout)
    assert set(doc) == {
        "readings",
        "series",
        "batch",
        "limit_per_s",
        "gatewatch_per_s",
        "ratio",
        "lost",
        "peak_rss_mb",
    }
    assert (doc["readings"], doc["series"], doc["batch"], doc["lost"]) == (3000, 10, 500, 0)
    assert doc["gatewatch_per_s"] > 0 and doc["limit_per_s"] > 0
    assert doc["ratio"] == pytest.approx(doc["gatewatch_per_s"] / doc["limit_per_s"])
