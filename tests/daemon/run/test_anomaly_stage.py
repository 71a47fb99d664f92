"""The anomaly stage beside the rules: with no rules at all, readings through the real
pipeline (mosquitto, ingest, store) still train the models, make derived signals and
save the models to state.db, and the stage metrics stay on /metrics."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from gatewatch.daemon.config.load import load_config
from gatewatch.daemon.run.compose import Daemon, Observers, build
from gateway_process import Gateway
from servers import Mosquitto, publish_many

pytestmark = pytest.mark.slow
WINDOW = 600.0  # the anomaly pipeline's feature window
WINDOWS = 1020  # the scorer trains on 1008 (7 days of windows)


def vibration(now: float) -> list[tuple[str, bytes]]:
    """Two RMS readings per window of a healthy pump, ending a window before ``now``."""
    rng = random.Random(3)
    start = (now - (WINDOWS + 1) * WINDOW) // WINDOW * WINDOW
    out = []
    for i in range(WINDOWS * 2):
        doc = {"value": 1.5 + rng.gauss(0, 0.05), "ts": start + i // 2 * WINDOW + i % 2 * 240}
        out.append(("building/hq/pump-1/vibration.rms", json.dumps(doc).encode()))
    return out


async def published(daemon: Daemon, up: asyncio.Event, port: int, n: int) -> None:
    await daemon.start()
    await asyncio.wait_for(up.wait(), 20)
    await asyncio.to_thread(publish_many, port, vibration(time.time()))
    deadline = time.monotonic() + 60
    while daemon.source.ingest.stats.messages_durable < n:
        assert time.monotonic() < deadline, "the readings did not all become durable"
        await asyncio.sleep(0.05)


def test_without_rules_the_anomaly_models_train_signal_and_persist(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    gw = Gateway(tmp_path, mosquitto.port)
    cfg = load_config(gw.write_config())  # no rules: section
    n = WINDOWS * 2

    async def run() -> tuple[Daemon, dict[str, float]]:
        up = asyncio.Event()
        subscribed = Observers(broker=(lambda state, _: up.set() if state == "up" else None,))
        daemon = build(cfg, gw.config, env={}, observers=subscribed)
        try:
            await published(daemon, up, mosquitto.port, n)
            metrics = await asyncio.to_thread(gw.metrics)
        finally:
            await daemon.stop()
        return daemon, metrics

    daemon, metrics = asyncio.run(run())
    assert daemon.rules.runtime is None
    assert daemon.anomaly.runtime.signals > 0, "no derived signal without rules"
    assert metrics["gatewatch_readings_stored_total"] == n
    assert metrics['gatewatch_alerts{state="firing"}'] == 0
    assert metrics["gatewatch_rule_evaluation_seconds_count"] == 0
    with closing(sqlite3.connect(cfg.state_db)) as conn:
        saved = conn.execute("SELECT site, asset FROM anomaly_models").fetchall()
    assert saved == [("hq", "pump-1")]

    async def restart() -> int:
        again = build(load_config(gw.config), gw.config, env={})
        await again.start()
        await again.stop()
        models = again.anomaly.runtime.models
        return models.counts.restored if models is not None else -1

    assert asyncio.run(restart()) == 1  # the next start is not a cold start
