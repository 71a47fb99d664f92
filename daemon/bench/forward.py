"""``gatewatch bench forward``: how fast a store-and-forward backlog drains.

Fills a temporary store with N queued readings over M series (the backlog an
outage leaves), starts VictoriaMetrics on a free loopback port, and measures
in the same run:

(a) the limit: the same readings as ready-made line protocol, POSTed in
    batches of ``--batch`` over one keep-alive connection: no SQLite, no
    formatting, only what the server itself costs;
(b) gatewatch: InfluxForwarder draining the queue (read the head, format,
    write through influxdb-client, delete once accepted).

It prints readings/s of both, the ratio b/a, readings lost (queued minus found
in VictoriaMetrics afterwards: must be 0) and the peak RSS of this process.
"""

from __future__ import annotations

import http.client
import json
import resource
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from gatewatch.core.reading import Reading
from gatewatch.daemon.ops.logs import setup_logging
from gatewatch.sensors.store.influx import InfluxForwarder
from gatewatch.sensors.store.influx_settings import InfluxSettings
from gatewatch.sensors.store.lineproto import line, series_prefix
from gatewatch.sensors.store.sqlite import SqliteStore

VM_BINARY = "/usr/bin/victoria-metrics"


@dataclass(frozen=True, slots=True)
class ForwardBench:
    readings: int
    series: int
    batch: int
    limit_per_s: float
    gatewatch_per_s: float
    ratio: float
    lost: int
    peak_rss_mb: float


def run_bench_forward(readings: int, series: int, batch: int, *, as_json: bool = False) -> int:
    binary = shutil.which("victoria-metrics") or VM_BINARY
    if not Path(binary).exists():
        print("error: victoria-metrics is not installed; run scripts/setup (apt victoria-metrics)")
        return 1
    setup_logging("warning", "console")  # logs to stderr: stdout is the report
    result = measure(binary, readings, series, batch)
    if as_json:
        print(json.dumps(asdict(result)))
    else:
        print(_table(result))
    return 0


def measure(binary: str, n: int, series: int, batch: int) -> ForwardBench:
    """Each side gets a fresh VictoriaMetrics, so neither pays for the other's data."""
    rs = _readings(n, series)
    with tempfile.TemporaryDirectory(prefix="gatewatch-bench-") as tmp:
        root = Path(tmp)
        with _victoria(binary, root / "limit") as url:
            limit = _post_limit(url, rs, batch)
        store = SqliteStore(root / "readings.db", root / "state.db", forward=True)
        for i in range(0, n, 10_000):
            store.write(rs[i : i + 10_000], [])
        with _victoria(binary, root / "gatewatch") as url:
            rate = _drain(store.path, url, batch, n)
            lost = n - _count(url, "bench_value", n)
        store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return ForwardBench(n, series, batch, limit, rate, rate / limit, lost, round(rss, 1))


def _readings(n: int, series: int) -> list[Reading]:
    t0 = time.time() - 86_400
    return [
        Reading("bench", f"asset-{i % series}", "bench", t0 + i / series, (i % 1000) / 8, "u")
        for i in range(n)
    ]


def _post_limit(url: str, rs: list[Reading], batch: int) -> float:
    prefixes = {r.asset: series_prefix(r.site, r.asset, r.metric, r.unit) for r in rs}
    bodies = [
        "\n".join(line(prefixes[r.asset], round(r.ts * 1000), r.value) for r in rs[i : i + batch])
        for i in range(0, len(rs), batch)
    ]
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port, timeout=30)
    started = time.perf_counter()
    for body in bodies:
        conn.request("POST", "/api/v2/write?org=o&bucket=b&precision=ms", body.encode())
        resp = conn.getresponse()
        resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"VictoriaMetrics answered {resp.status} to the reference write")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(rs) / elapsed


def _drain(store_path: Path, url: str, batch: int, n: int) -> float:
    settings = InfluxSettings(url=url, org="o", bucket="b", batch_size=batch, flush_interval=0.05)
    fwd = InfluxForwarder(store_path, settings)
    started = time.perf_counter()
    fwd.start()
    while fwd.lag().sent < n:
        time.sleep(0.1)  # lag() counts the queue: polling it harder slows the drain
    elapsed = time.perf_counter() - started
    fwd.stop()
    return n / elapsed


def _count(url: str, name: str, want: int, timeout: float = 15.0) -> int:
    """Samples of ``name`` visible in VictoriaMetrics, waiting up to ``timeout`` for ``want``."""
    deadline = time.monotonic() + timeout
    while True:
        _get(url + "/internal/force_flush")
        query = urllib.parse.urlencode({"match[]": name, "start": "0"})
        found = sum(
            len(json.loads(row)["values"])
            for row in _get(f"{url}/api/v1/export?{query}").splitlines()
            if row.strip()
        )
        if found >= want or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@contextmanager
def _victoria(binary: str, workdir: Path) -> Iterator[str]:
    workdir.mkdir(parents=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            binary,
            f"-storageDataPath={workdir / 'vm'}",
            f"-httpListenAddr=127.0.0.1:{port}",
            "-retentionPeriod=100y",
            "-loggerLevel=ERROR",
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if _get(url + "/health") == b"OK":
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"VictoriaMetrics did not become healthy on {url}")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - our own loopback URL
        return bytes(resp.read())


def _table(r: ForwardBench) -> str:
    rows = [
        ("readings queued", f"{r.readings} over {r.series} series, batches of {r.batch}"),
        ("limit: raw POST to VictoriaMetrics", f"{r.limit_per_s:,.0f} readings/s"),
        ("gatewatch forwarder (SQLite -> VM)", f"{r.gatewatch_per_s:,.0f} readings/s"),
        ("ratio gatewatch/limit", f"{r.ratio:.2f}x"),
        ("readings lost", str(r.lost)),
        ("peak RSS", f"{r.peak_rss_mb} MiB"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
