"""A real VictoriaMetrics (Debian's victoria-metrics) on a free loopback port.

It takes InfluxDB line protocol on /api/v2/write and names a series
``<measurement>_<field>``; tests read back over /api/v1/export.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servers import free_port

BINARY = "/usr/bin/victoria-metrics"


@dataclass
class VictoriaMetrics:
    """Restartable on the same port and data path, so an outage is a real outage."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> VictoriaMetrics:
        self.workdir.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("victoria-metrics") or BINARY
        with (self.workdir / "vm.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"-storageDataPath={self.workdir / 'data'}",
                    f"-httpListenAddr=127.0.0.1:{self.port}",
                    "-retentionPeriod=100y",  # tests may write readings of any age
                    "-dedup.minScrapeInterval=1ms",  # (series, ts) is unique, as in InfluxDB
                    "-loggerLevel=ERROR",
                ],
                cwd=self.workdir,
                stdout=log,
                stderr=log,
            )
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log()
            try:
                if self._get("/health") == b"OK":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"VictoriaMetrics not healthy on {self.url} after {timeout}s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def export(self, match: str) -> list[dict[str, Any]]:
        """Every raw sample of the series matching ``match``, after a forced flush."""
        self._get("/internal/force_flush")
        query = urllib.parse.urlencode({"match[]": match, "start": "0"})
        body = self._get(f"/api/v1/export?{query}")
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def samples(self, match: str) -> dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]:
        """(labels) -> [(ts_ms, value)] ordered by time."""
        out: dict[tuple[tuple[str, str], ...], list[tuple[int, float]]] = {}
        for series in self.export(match):
            labels = tuple(sorted(series["metric"].items()))
            out[labels] = sorted(zip(series["timestamps"], series["values"], strict=True))
        return out

    def samples_when(
        self, match: str, count: int, timeout: float = 10.0
    ) -> dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]:
        """``samples`` once at least ``count`` samples are visible (or at the timeout).

        Right after a restart VictoriaMetrics makes rows of series it has not seen
        since start searchable a moment after it accepted them, force_flush or not.
        """
        deadline = time.monotonic() + timeout
        while True:
            got = self.samples(match)
            if sum(map(len, got.values())) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.1)

    def log(self) -> str:
        path = self.workdir / "vm.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            return bytes(resp.read())
