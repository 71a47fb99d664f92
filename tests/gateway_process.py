"""`gatewatch run` as a subprocess with its own state dir, log and HTTP port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servers import free_port

ASSETS = Path(__file__).parents[1] / "config" / "assets.yaml"


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.05)


@dataclass
class Gateway:
    workdir: Path
    broker_port: int
    http_port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    preexec: Callable[[], None] | None = None  # runs in the child before exec
    proc: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.workdir / "gatewatch.yaml"

    @property
    def log(self) -> Path:
        return self.workdir / "gatewatch.log"

    def write_config(self, extra: str = "") -> Path:
        self.config.write_text(
            f"site: hq\nstate_dir: {self.workdir / 'state'}\nassets: {ASSETS}\n"
            f"mqtt: {{port: {self.broker_port}, client_id: gw-{self.http_port}, keepalive: 5}}\n"
            f"http: {{port: {self.http_port}}}\n"
            "log: {format: json, level: info}\n" + extra
        )
        return self.config

    def start(self) -> Gateway:
        if not self.config.exists():
            self.write_config()
        with self.log.open("ab") as handle:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gatewatch.daemon.commands.main",
                    "run",
                    "--config",
                    str(self.config),
                ],
                stdout=handle,
                stderr=handle,
                env={**os.environ, **self.env},
                preexec_fn=self.preexec,  # noqa: PLW1509 - prctl calls only
            )
        return self

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:  # the line the daemon is writing right now
                    continue
        return out

    def logged(self, event: str) -> bool:
        return any(e.get("event") == event for e in self.events())

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def get(self, path: str) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{self.http_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return int(resp.status), bytes(resp.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), bytes(exc.read())

    def healthz(self) -> tuple[int, dict[str, Any]]:
        status, body = self.get("/healthz")
        return status, json.loads(body)

    def metrics(self) -> dict[str, float]:
        """Samples of /metrics as {'name{labels}': value}."""
        status, body = self.get("/metrics")
        assert status == 200, body
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def wait_http(self, timeout: float = 20) -> None:
        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()
            try:
                self.get("/healthz")
            except OSError:
                return False
            return True

        wait_for(up, timeout, "the HTTP endpoint")
