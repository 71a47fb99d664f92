"""`gatewatch run` as a subprocess against a real mosquitto: nothing is lost."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from servers import Mosquitto, publish_many

pytestmark = pytest.mark.slow
ASSETS = Path(__file__).parents[3] / "config" / "assets.yaml"
BASE_TS = 1_764_000_000.0


def write_config(tmp: Path, port: int, client_id: str = "gw-durability") -> Path:
    cfg = tmp / "gatewatch.yaml"
    cfg.write_text(
        f"site: hq\nstate_dir: {tmp / 'state'}\nassets: {ASSETS}\n"
        f"mqtt: {{port: {port}, client_id: {client_id}, keepalive: 5}}\n"
        "log: {format: json, level: info}\nhttp: {enabled: false}\n"
    )
    return cfg


def start_gatewatch(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gatewatch.daemon.commands.main", "run", "--config", str(cfg)],
            stdout=handle,
            stderr=handle,
        )
    deadline = time.monotonic() + 20
    while b"mqtt_connected" not in log.read_bytes():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "gatewatch did not connect"
        time.sleep(0.05)
    return proc


def stored(tmp: Path) -> int:
    db = tmp / "state" / "readings.db"
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0])


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def messages(n: int, series: int = 10) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        doc = {"value": i % 100, "ts": BASE_TS + i * 0.01}
        out.append((f"building/hq/lift-a1/door_close_time_{i % series}", json.dumps(doc).encode()))
    return out


def assert_exactly_once(tmp: Path, expected: list[tuple[str, bytes]]) -> None:
    with sqlite3.connect(tmp / "state" / "readings.db") as conn:
        rows = conn.execute(
            "SELECT s.metric, r.ts, r.value FROM readings r JOIN series s ON s.id = r.series_id"
        ).fetchall()
    want = set()
    for topic, payload in expected:
        doc = json.loads(payload)
        want.add((topic.rsplit("/", 1)[1], round(doc["ts"] * 1000), float(doc["value"])))
    assert len(rows) == len(want)
    assert set(rows) == want


def test_kill_9_mid_stream_loses_nothing_and_duplicates_nothing(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path, mosquitto.port)
    log = tmp_path / "gatewatch.log"
    gw = start_gatewatch(cfg, log)
    msgs = messages(10_000)
    publisher = threading.Thread(target=publish_many, args=(mosquitto.port, msgs))
    publisher.start()
    wait_for(lambda: stored(tmp_path) >= 2500, 60, "the first readings")
    gw.send_signal(signal.SIGKILL)
    gw.wait()
    killed_at = stored(tmp_path)
    gw = start_gatewatch(cfg, log)
    publisher.join(120)
    wait_for(lambda: stored(tmp_path) >= 10_000, 60, "all 10k readings")
    gw.send_signal(signal.SIGTERM)
    assert gw.wait(30) == 0
    assert killed_at < 10_000, "the kill came too late to prove anything"
    assert_exactly_once(tmp_path, msgs)


def test_broker_restart_while_publishing_loses_nothing(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path, mosquitto.port)
    gw = start_gatewatch(cfg, tmp_path / "gatewatch.log")
    msgs = messages(6000)
    publisher = threading.Thread(target=publish_many, args=(mosquitto.port, msgs))
    publisher.start()
    wait_for(lambda: stored(tmp_path) >= 1500, 60, "the first readings")
    mosquitto.restart()
    publisher.join(120)
    assert not publisher.is_alive()
    wait_for(lambda: stored(tmp_path) >= 6000, 60, "all readings after the restart")
    gw.send_signal(signal.SIGTERM)
    assert gw.wait(30) == 0
    assert_exactly_once(tmp_path, msgs)
    assert (tmp_path / "gatewatch.log").read_text().count("mqtt_connected") >= 2


def test_sigterm_drains_and_exits_zero(mosquitto: Mosquitto, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, mosquitto.port)
    log = tmp_path / "gatewatch.log"
    gw = start_gatewatch(cfg, log)
    msgs = messages(300)
    publish_many(mosquitto.port, msgs)
    wait_for(lambda: stored(tmp_path) >= 300, 30, "readings")
    gw.send_signal(signal.SIGTERM)
    assert gw.wait(30) == 0
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert events[-1]["event"] == "gatewatch_stopped"
    assert events[-1]["durable"] == 300
