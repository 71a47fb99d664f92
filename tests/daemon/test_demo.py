from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_demo_runs_end_to_end_and_loses_nothing() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "gatewatch.daemon.cli", "demo", "--seconds", "3", "--json"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["messages_published"] > 200
    assert summary["messages_lost"] == 0
    assert summary["messages_durable"] == summary["messages_published"]
    assert summary["series"] == 10  # 2 lifts, server room x2, 3 pumps x2
    assert summary["readings_stored"] >= summary["messages_published"]
