"""Supervisor in-process: READY waits for the broker and every gate; STOPPING; hooks chain."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from pathlib import Path
from typing import Any

from gatewatch.daemon.config.load import load_config
from gatewatch.daemon.run.pipeline import build_pipeline
from gatewatch.daemon.run.supervise import Supervisor
from gateway_process import ASSETS
from prometheus_client import Histogram
from servers import free_port


def fields(s: socket.socket) -> list[str]:
    out: list[str] = []
    s.setblocking(False)
    try:
        while True:
            out += s.recv(4096).decode().split("\n")
    except BlockingIOError:
        return out


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
        p = build_pipeline(cfg)
        p.subscriber.on_state = lambda state, info: seen.append(state)
        sup = Supervisor(cfg, cfg_path, env={"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
        outbox_up = asyncio.Event()
        sup.ready_gates.append(outbox_up.wait)
        sup.attach(p)
        await asyncio.sleep(0)
        assert "READY=1" not in fields(listener)

        p.subscriber.on_state("up", {"session_present": False})
        await asyncio.sleep(0.01)
        assert "READY=1" not in fields(listener)  # the outbox gate is still closed
        assert sup.health().failing == []

        outbox_up.set()
        await asyncio.sleep(0.01)
        ready = fields(listener)
        assert ready[0] == "READY=1"
        assert ready[1].startswith("STATUS=broker connected; 0 messages")

        sup.draining(p)
        assert fields(listener) == ["STOPPING=1", "STATUS=draining: 0 messages pending"]
        await sup.close()
        p.store.close()

    try:
        asyncio.run(run())
    finally:
        listener.close()
    assert seen == ["up"]  # the subscriber's own on_state still runs


def test_no_http_server_when_disabled_and_reload_counts(tmp_path: Path) -> None:
    cfg_path = tmp_path / "gatewatch.yaml"
    cfg_path.write_text(f"state_dir: {tmp_path}\nassets: {ASSETS}\nhttp: {{enabled: false}}\n")
    cfg = load_config(cfg_path)

    async def run() -> Any:
        p = build_pipeline(cfg)
        sup = Supervisor(cfg, cfg_path, env={})
        sup.attach(p)
        cfg_path.write_text("state_dir: [\n")
        sup.reload()
        await sup.close()
        p.store.close()
        return sup

    sup = asyncio.run(run())
    assert sup.server is None
    assert sup.reloader.stats.failures == 1
    assert sup.reloader.current is cfg


def scrape(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return bytes(resp.read())


def test_metrics_of_later_stages_share_the_endpoint(tmp_path: Path) -> None:
    port = free_port()
    cfg_path = tmp_path / "gatewatch.yaml"
    cfg_path.write_text(f"state_dir: {tmp_path}\nassets: {ASSETS}\nhttp: {{port: {port}}}\n")
    cfg = load_config(cfg_path)

    async def run() -> str:
        p = build_pipeline(cfg)
        sup = Supervisor(cfg, cfg_path, env={})
        evals = Histogram("gatewatch_rule_eval_seconds", "rule evaluation", registry=sup.registry)
        evals.observe(0.002)
        sup.attach(p)
        body = await asyncio.to_thread(scrape, f"http://127.0.0.1:{port}/metrics")
        await sup.close()
        p.store.close()
        return body.decode()

    text = asyncio.run(run())
    assert "gatewatch_rule_eval_seconds_count 1.0" in text
    assert "gatewatch_readings_stored_total 0.0" in text
