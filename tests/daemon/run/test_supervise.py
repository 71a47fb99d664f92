"""The ops stage in-process: READY waits for the broker and every gate; STOPPING; the
broker state reaches every listener the source was given."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from pathlib import Path
from typing import Any

from gatewatch.daemon.config.load import Config, load_config
from gatewatch.daemon.run.compose import build
from gatewatch.daemon.run.ingest_stage import IngestStage, StoreStage, build_ingest
from gatewatch.daemon.run.supervise import Supervisor
from gatewatch.sensors.ingest import Ingest
from gateway_process import ASSETS
from prometheus_client import CollectorRegistry, Histogram
from servers import free_port


def fields(s: socket.socket) -> list[str]:
    out: list[str] = []
    s.setblocking(False)
    try:
        while True:
            out += s.recv(4096).decode().split("\n")
    except BlockingIOError:
        return out


def ingest_of(cfg: Config) -> tuple[StoreStage, Ingest]:
    store = StoreStage(cfg)
    return store, build_ingest(cfg, store.store, [])


def test_ready_waits_for_broker_and_gates_then_stopping(tmp_path: Path) -> None:
    cfg_path = tmp_path / "gatewatch.yaml"
    cfg_path.write_text(
        f"state_dir: {tmp_path}\nassets: {ASSETS}\nmqtt: {{port: 1}}\nhttp: {{enabled: false}}\n"
    )
    cfg = load_config(cfg_path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify.sock"))
    seen: list[str] = []

    async def run() -> None:
        store, ingest = ingest_of(cfg)
        outbox_up = asyncio.Event()
        env = {"NOTIFY_SOCKET": str(tmp_path / "notify.sock")}
        sup = Supervisor(cfg, ingest, ready_gates=[outbox_up.wait], env=env)
        source = IngestStage(
            cfg, ingest, on_state=[sup.on_broker_state, lambda state, _: seen.append(state)]
        )
        await sup.start()
        await asyncio.sleep(0)
        assert "READY=1" not in fields(listener)

        source.subscriber.on_state("up", {"session_present": False})  # as the subscriber does
        await asyncio.sleep(0.01)
        assert "READY=1" not in fields(listener)  # the outbox gate is still closed
        assert sup.health().failing == []

        outbox_up.set()
        await asyncio.sleep(0.01)
        ready = fields(listener)
        assert ready[0] == "READY=1"
        assert ready[1].startswith("STATUS=broker connected; 0 messages")

        sup.draining()
        assert fields(listener) == ["STOPPING=1", "STATUS=draining: 0 messages pending"]
        await sup.stop()
        await store.stop()

    try:
        asyncio.run(run())
    finally:
        listener.close()
    assert seen == ["up"]  # the other listener the source was given heard it too


def test_no_http_server_when_disabled_and_reload_counts(tmp_path: Path) -> None:
    cfg_path = tmp_path / "gatewatch.yaml"
    cfg_path.write_text(
        f"state_dir: {tmp_path}\nassets: {ASSETS}\nmqtt: {{port: 1}}\nhttp: {{enabled: false}}\n"
    )
    cfg = load_config(cfg_path)

    async def run() -> Any:
        daemon = build(cfg, cfg_path, env={})
        await daemon.start()
        cfg_path.write_text("state_dir: [\n")
        daemon.reload()  # what SIGHUP calls
        await daemon.stop()
        return daemon

    daemon = asyncio.run(run())
    assert daemon.ops.server is None
    assert daemon.reloader.stats.failures == 1
    assert daemon.reloader.current is cfg


def scrape(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return bytes(resp.read())


def test_metrics_of_later_stages_share_the_endpoint(tmp_path: Path) -> None:
    port = free_port()
    cfg_path = tmp_path / "gatewatch.yaml"
    cfg_path.write_text(f"state_dir: {tmp_path}\nassets: {ASSETS}\nhttp: {{port: {port}}}\n")
    cfg = load_config(cfg_path)

    async def run() -> str:
        store, ingest = ingest_of(cfg)
        registry = CollectorRegistry(auto_describe=False)
        evals = Histogram("gatewatch_rule_eval_seconds", "rule evaluation", registry=registry)
        evals.observe(0.002)
        sup = Supervisor(cfg, ingest, registry=registry, env={})
        await sup.start()
        body = await asyncio.to_thread(scrape, f"http://127.0.0.1:{port}/metrics")
        await sup.stop()
        await store.stop()
        return body.decode()

    text = asyncio.run(run())
    assert "gatewatch_rule_eval_seconds_count 1.0" in text
    assert "gatewatch_readings_stored_total 0.0" in text
