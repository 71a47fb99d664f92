"""Store-and-forward to InfluxDB: line protocol, refusal handling, lag, and a real server.

The fast tests drive the real influxdb-client against a small scripted HTTP
server on loopback (to produce the answers a real server gives rarely: 400,
401, 503). The slow ones write to a real VictoriaMetrics and read it back.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from gatewatch.core.reading import Reading
from gatewatch.sensors.backoff import Backoff
from gatewatch.sensors.store.base import ForwardLag
from gatewatch.sensors.store.influx import InfluxForwarder, Verdict, classify, safe_url
from gatewatch.sensors.store.influx_settings import InfluxSettings
from gatewatch.sensors.store.lineproto import (
    UnsendableError,
    format_value,
    line,
    series_prefix,
)
from gatewatch.sensors.store.sqlite import SqliteStore
from hypothesis import given
from hypothesis import strategies as st
from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision
from servers import Mosquitto, publish_many
from servers_vm import VictoriaMetrics
from structlog.testing import capture_logs

TOKEN = "s3cret-token-never-logged"
ASSETS = Path(__file__).parents[3] / "config" / "assets.yaml"


# -- helpers ---------------------------------------------------------------------------


def settings(url: str, **kw: float) -> InfluxSettings:
    base: dict[str, float] = {"batch_size": 500, "flush_interval": 0.05, "timeout": 3.0}
    base.update(kw)
    return InfluxSettings(
        url=url,
        org="gatewatch",
        bucket="gatewatch",
        token=TOKEN,
        batch_size=int(base["batch_size"]),
        flush_interval=base["flush_interval"],
        timeout=base["timeout"],
    )


def open_store(tmp: Path) -> SqliteStore:
    return SqliteStore(tmp / "readings.db", tmp / "state.db", forward=True, synchronous="NORMAL")


def forwarder(store: SqliteStore, url: str, **kw: object) -> InfluxForwarder:
    opts: dict[str, object] = {"retry_min": 0.01, "retry_max": 0.05, **kw}
    batch = float(opts.pop("batch_size", 500))  # type: ignore[arg-type]
    return InfluxForwarder(store.path, settings(url, batch_size=batch), **opts)  # type: ignore[arg-type]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def readings(n: int, t0: float, *, assets: tuple[str, ...] = ("pump-1",)) -> list[Reading]:
    return [
        Reading("hq", assets[i % len(assets)], "vibration.rms", t0 + i * 0.001, i * 0.25, "mm/s")
        for i in range(n)
    ]


def expected_line(r: Reading) -> str:
    return line(series_prefix(r.site, r.asset, r.metric, r.unit), round(r.ts * 1000), r.value)


class ScriptedInflux:
    """Loopback HTTP server answering /api/v2/write with a scripted status."""

    def __init__(
        self, respond: Callable[[list[str]], int], headers: dict[str, str] | None = None
    ) -> None:
        self.respond = respond
        self.times: list[float] = []
        self.requests: list[tuple[int, list[str], str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                lines = body.split("\n")
                status = outer.respond(lines)
                outer.requests.append((status, lines, self.headers.get("Authorization", "")))
                outer.times.append(time.monotonic())
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                payload = b""
                if status >= 400:
                    payload = json.dumps({"code": "invalid", "message": f"scripted {status}"})
                    payload = payload.encode()
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def accepted(self) -> list[str]:
        return [ln for status, lines, _ in self.requests if status < 300 for ln in lines]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = open_store(tmp_path)
    yield s
    s.close()


# -- line protocol -----------------------------------------------------------------------

names = st.text(min_size=1, max_size=12).filter(lambda s: not s.startswith("#"))


@given(
    site=names,
    asset=names,
    metric=names,
    unit=st.none() | st.text(max_size=5),
    ts=st.integers(0, 2**53),
    value=st.floats(allow_nan=False, allow_infinity=False),
)
def test_line_is_exactly_what_influxdb_client_point_writes(  # noqa: PLR0917
    site: str, asset: str, metric: str, unit: str | None, ts: int, value: float
) -> None:
    point = Point(metric).tag("site", site).tag("asset", asset).field("value", value)
    if unit:
        point.tag("unit", unit)
    want = point.time(ts, WritePrecision.MS).to_line_protocol()
    assert line(series_prefix(site, asset, metric, unit), ts, value) == want


def test_layout_is_measurement_per_metric_with_site_asset_unit_tags() -> None:
    prefix = series_prefix("hq", "srv 1,b=2", "temperature", "C")
    assert line(prefix, 1_764_000_000_123, 21.5) == (
        r"temperature,asset=srv\ 1\,b\=2,site=hq,unit=C value=21.5 1764000000123"
    )
    assert series_prefix("hq", "p", "m", None) == "m,asset=p,site=hq"


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_values_are_unsendable(value: float) -> None:
    with pytest.raises(UnsendableError):
        format_value(value)


def test_comment_like_measurement_is_unsendable() -> None:
    with pytest.raises(UnsendableError, match="measurement"):
        series_prefix("hq", "a", "#temperature", None)


# -- pure decisions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (None, Verdict.RETRY),
        (204, Verdict.ACCEPTED),
        (200, Verdict.ACCEPTED),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (429, Verdict.RETRY),
        (408, Verdict.RETRY),
        (401, Verdict.CONFIG),
        (403, Verdict.CONFIG),
        (404, Verdict.CONFIG),
        (400, Verdict.REJECTED),
        (413, Verdict.REJECTED),
        (422, Verdict.REJECTED),
    ],
)
def test_classify(status: int | None, verdict: Verdict) -> None:
    assert classify(status) is verdict


def test_backoff_doubles_with_jitter_up_to_the_cap_and_resets() -> None:
    low = Backoff(0.5, 4.0, rng=lambda: 0.0)
    assert [low.next() for _ in range(6)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    high = Backoff(0.5, 4.0, rng=lambda: 1.0)
    assert [high.next() for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    high.reset()
    assert high.next() == 0.5
    with pytest.raises(ValueError, match="minimum"):
        Backoff(0.0, 1.0)


# -- lag figures (no server needed) ---------------------------------------------------


def test_lag_counts_queued_rows_and_the_age_of_the_head(store: SqliteStore) -> None:
    t0 = 1_764_000_000.0
    store.write(readings(40, t0), [])
    fwd = InfluxForwarder(store.path, settings("http://127.0.0.1:9"), clock=lambda: t0 + 90.0)
    assert fwd.lag() == ForwardLag(
        queued=40,
        oldest_age_s=90.0,
        last_success=None,
        failures=0,
        consecutive_failures=0,
        parked=0,
        sent=0,
    )


def test_forwarder_refuses_a_store_without_forward_queue(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "empty.db").close()
    fwd = InfluxForwarder(tmp_path / "empty.db", settings("http://127.0.0.1:9"))
    with pytest.raises(RuntimeError, match="forward=True"):
        fwd.start()


# -- against a scripted server: what each answer does ---------------------------------


def test_a_refused_reading_is_parked_and_everything_else_arrives_in_order(
    store: SqliteStore,
) -> None:
    server = ScriptedInflux(lambda lines: 400 if any("poison" in ln for ln in lines) else 204)
    rs = readings(120, 1_764_000_000.0)
    rs[37] = Reading("hq", "poison", "vibration.rms", rs[37].ts, 1.0, "mm/s")
    store.write(rs, [])
    fwd = forwarder(store, server.url, batch_size=50)
    with capture_logs() as logs:
        fwd.start()
        wait_for(lambda: fwd.lag().queued == 0, 10, "the queue to drain")
        fwd.stop()
    server.close()
    assert server.accepted() == [expected_line(r) for i, r in enumerate(rs) if i != 37]
    lag = fwd.lag()
    assert (lag.parked, lag.sent, lag.failures) == (1, 119, 0)
    with sqlite3.connect(store.path) as conn:
        parked = conn.execute("SELECT seq, value, reason FROM forward_parked").fetchall()
    assert parked == [(38, 1.0, "HTTP 400: scripted 400")]
    events = [e for e in logs if e["event"] == "influx_reading_parked"]
    assert len(events) == 1
    assert events[0]["series"] == "hq/poison/vibration.rms"


def test_server_errors_keep_every_row_until_accepted_and_order_is_kept(
    store: SqliteStore,
) -> None:
    answers = iter([503] * 6)
    server = ScriptedInflux(lambda lines: next(answers, 204))
    rs = readings(300, 1_764_000_000.0, assets=("p1", "p2", "p3"))
    store.write(rs[:100], [])
    fwd = forwarder(store, server.url, batch_size=70)
    fwd.start()
    store.write(rs[100:], [])
    wait_for(lambda: fwd.lag().queued == 0, 10, "the backfill")
    fwd.stop()
    server.close()
    assert server.accepted() == [expected_line(r) for r in rs]
    refused = [lines for status, lines, _ in server.requests if status == 503]
    assert len(refused) == 6
    assert all(lines == refused[0] for lines in refused), "a retry resends the same head"
    lag = fwd.lag()
    assert (lag.failures, lag.consecutive_failures, lag.sent, lag.parked) == (6, 0, 300, 0)
    assert lag.last_success is not None


def test_retry_after_is_honoured(store: SqliteStore) -> None:
    answers = iter([429])
    server = ScriptedInflux(lambda lines: next(answers, 204), {"Retry-After": "1"})
    store.write(readings(5, 1_764_000_000.0), [])
    fwd = forwarder(store, server.url)  # its own backoff would retry within 50 ms
    fwd.start()
    wait_for(lambda: fwd.lag().queued == 0, 10, "the retry")
    fwd.stop()
    server.close()
    assert [status for status, _, _ in server.requests] == [429, 204]
    assert server.times[1] - server.times[0] >= 0.95


def test_credentials_in_the_url_are_not_logged() -> None:
    assert safe_url("http://user:pw@influx:8086/x") == "http://***@influx:8086/x"
    assert safe_url("https://influx.example.org") == "https://influx.example.org"


def test_a_wrong_token_keeps_the_data_and_says_what_to_fix(store: SqliteStore) -> None:
    server = ScriptedInflux(lambda lines: 401)
    store.write(readings(10, 1_764_000_000.0), [])
    fwd = forwarder(store, server.url)
    with capture_logs() as logs:
        fwd.start()
        wait_for(lambda: fwd.lag().failures >= 3, 10, "retries")
        fwd.stop()
    server.close()
    lag = fwd.lag()
    assert (lag.queued, lag.parked, lag.sent) == (10, 0, 0)
    assert server.requests[0][2] == f"Token {TOKEN}"
    refused = [e for e in logs if e["event"] == "influx_write_refused"]
    assert refused and "token" in refused[0]["fix"]
    assert TOKEN not in repr(logs)


def test_the_breaker_stops_parking_when_the_server_refuses_everything(
    store: SqliteStore,
) -> None:
    server = ScriptedInflux(lambda lines: 400)
    store.write(readings(64, 1_764_000_000.0), [])
    fwd = forwarder(store, server.url, batch_size=64, park_breaker=5)
    fwd.start()
    wait_for(lambda: fwd.lag().failures >= 2, 10, "the breaker")
    fwd.stop()
    server.close()
    lag = fwd.lag()
    assert (lag.parked, lag.queued, lag.sent) == (5, 59, 0)


def test_unsendable_readings_are_parked_locally_without_tripping_the_breaker(
    store: SqliteStore,
) -> None:
    server = ScriptedInflux(lambda lines: 400 if any("poison" in ln for ln in lines) else 204)
    t0 = 1_764_000_000.0
    rs = [
        Reading("hq", "p", "m", t0, 1.0),
        Reading("hq", "p", "m", t0 + 1, math.inf),
        *(Reading("hq", "p", "#m", t0 + i, 2.0) for i in range(3)),
        Reading("hq", "poison", "m", t0, 3.0),
        Reading("hq", "p", "m", t0 + 2, 4.0),
    ]
    store.write(rs, [])
    fwd = forwarder(store, server.url, park_breaker=1)
    fwd.start()
    wait_for(lambda: fwd.lag().queued == 0, 10, "the queue to drain")
    fwd.stop()
    server.close()
    assert server.accepted() == [expected_line(rs[0]), expected_line(rs[6])]
    with sqlite3.connect(store.path) as conn:
        reasons = [r for (r,) in conn.execute("SELECT reason FROM forward_parked ORDER BY seq")]
    assert reasons[0] == "inf cannot be written as a line protocol float"
    assert reasons[1:4] == ["metric '#m' cannot be a measurement name"] * 3
    assert reasons[4] == "HTTP 400: scripted 400"
    assert fwd.lag().parked == 5


def test_stop_sends_what_was_stored_since_the_last_batch(store: SqliteStore) -> None:
    server = ScriptedInflux(lambda lines: 204)
    rs = readings(50, 1_764_000_000.0)
    store.write(rs[:20], [])
    fwd = InfluxForwarder(store.path, settings(server.url, flush_interval=30.0))
    fwd.start()
    wait_for(lambda: fwd.lag().sent == 20, 5, "the first batch")
    store.write(rs[20:], [])  # the forwarder now sleeps for flush_interval (30 s)
    started = time.monotonic()
    fwd.stop()
    server.close()
    assert time.monotonic() - started < 5
    assert server.accepted() == [expected_line(r) for r in rs]
    assert fwd.lag().queued == 0


# -- a real VictoriaMetrics ----------------------------------------------------------------


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    vm = VictoriaMetrics(tmp_path / "vm").start()
    yield vm
    vm.stop()


def now_ms() -> int:
    return (int(time.time()) - 3600) * 1000


@pytest.mark.slow
def test_round_trip_through_victoria_metrics_is_exact(
    store: SqliteStore, victoria: VictoriaMetrics
) -> None:
    t0 = now_ms() / 1000
    values = [0.0, -273.15, 0.001, 21.5, 65535.0, 42.0, -0.5, 3.14159265359]
    rs = [
        Reading("hq", "srv 1", "temperature", t0 + i * 0.001, v, "C") for i, v in enumerate(values)
    ]
    # VictoriaMetrics keeps about 12 significant digits per block (InfluxDB the whole
    # float64), so the values here are ones a sensor sends, not 1/3.
    vib = [0.0, 0.125, 2.5, 7.0625, 11.3]
    rs += [Reading("hq", "pump,7", "vibration.rms", t0 + i, v, None) for i, v in enumerate(vib)]
    store.write(rs, [])
    fwd = forwarder(store, victoria.url, batch_size=4)
    fwd.start()
    wait_for(lambda: fwd.lag().queued == 0, 15, "forwarding")
    fwd.stop()
    got = victoria.samples_when('{__name__=~"temperature_value|vibration.rms_value"}', len(rs))
    temp = (("__name__", "temperature_value"), ("asset", "srv 1"), ("site", "hq"), ("unit", "C"))
    vib = (("__name__", "vibration.rms_value"), ("asset", "pump,7"), ("site", "hq"))
    assert got == {
        temp: [(round(r.ts * 1000), r.value) for r in rs[:8]],
        vib: [(round(r.ts * 1000), r.value) for r in rs[8:]],
    }
    assert fwd.lag().sent == len(rs)


class SteadyWriter:
    """The ingest side: 10 readings stamped with the wall clock every 50 ms (only writer)."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.written: list[Reading] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            n, now = len(self.written), time.time()
            batch = [
                Reading("hq", f"ahu-{i % 4}", "supply_temp", now + i * 0.001, n + i)
                for i in range(10)
            ]
            self.store.write(batch, [])
            self.written += batch

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.mark.slow
def test_30s_outage_is_backfilled_completely_and_lag_returns_to_zero(
    store: SqliteStore, victoria: VictoriaMetrics
) -> None:
    fwd = forwarder(store, victoria.url, retry_min=0.2, retry_max=1.0, batch_size=1000)
    fwd.start()
    writer = SteadyWriter(store)
    wait_for(lambda: fwd.lag().sent >= 100, 10, "forwarding before the outage")
    victoria.stop()
    samples: list[ForwardLag] = []
    outage_end = time.monotonic() + 30
    while time.monotonic() < outage_end:
        time.sleep(2.5)
        samples.append(fwd.lag())
    restarted_at = time.time()
    victoria.start()
    wait_for(lambda: fwd.lag().consecutive_failures == 0, 10, "the server to come back")
    writer.stop()
    wait_for(lambda: fwd.lag().queued == 0, 20, "the backfill")
    fwd.stop()
    queued = [s.queued for s in samples]
    ages = [s.oldest_age_s for s in samples]
    assert queued == sorted(queued) and queued[-1] >= 4000, queued
    assert ages == sorted(ages) and ages[0] < 5 and ages[-1] >= 27, ages
    assert samples[-1].failures >= 10 and samples[-1].consecutive_failures >= 10
    final = fwd.lag()
    assert (final.queued, final.oldest_age_s, final.consecutive_failures) == (0, 0.0, 0)
    assert final.last_success is not None and final.last_success >= restarted_at
    assert final.sent == len(writer.written)
    got = victoria.samples_when('{__name__="supply_temp_value"}', len(writer.written))
    want: dict[str, list[tuple[int, float]]] = {}
    for r in writer.written:
        want.setdefault(r.asset, []).append((round(r.ts * 1000), r.value))
    assert {dict(k)["asset"]: v for k, v in got.items()} == want


# -- end to end: gatewatch run -> mosquitto -> VictoriaMetrics ------------------------------


@pytest.mark.slow
def test_gatewatch_run_forwards_mqtt_readings_to_victoria_metrics(
    mosquitto: Mosquitto, victoria: VictoriaMetrics, tmp_path: Path
) -> None:
    cfg = tmp_path / "gatewatch.yaml"
    cfg.write_text(
        f"site: hq\nstate_dir: {tmp_path / 'state'}\nassets: {ASSETS}\n"
        f"mqtt: {{port: {mosquitto.port}, client_id: gw-influx-e2e, keepalive: 5}}\n"
        f"influxdb: {{url: '{victoria.url}', org: gw, bucket: gw,"
        " token_env: GW_TEST_INFLUX_TOKEN, flush_interval_s: 0.1}\n"
        "log: {format: json, level: info}\n"
    )
    log = tmp_path / "gatewatch.log"
    env = {**os.environ, "GW_TEST_INFLUX_TOKEN": TOKEN}
    with log.open("ab") as out:
        gw = subprocess.Popen(
            [sys.executable, "-m", "gatewatch.daemon.commands.main", "run", "--config", str(cfg)],
            stdout=out,
            stderr=out,
            env=env,
        )
    try:
        wait_for(lambda: b"mqtt_connected" in log.read_bytes(), 20, "gatewatch to connect")
        t0 = now_ms() / 1000
        msgs = [
            (
                "building/hq/lift-a1/door_close_time",
                json.dumps({"value": 3 + i / 8, "ts": t0 + i * 0.5}).encode(),
            )
            for i in range(200)
        ]
        publish_many(mosquitto.port, msgs, client_id="influx-e2e-pub")
        want = [(round((t0 + i * 0.5) * 1000), 3 + i / 8) for i in range(200)]

        got = victoria.samples_when('{__name__="door_close_time_value"}', len(want), 30)
        labels = (
            ("__name__", "door_close_time_value"),
            ("asset", "lift-a1"),
            ("site", "hq"),
            ("unit", "s"),
        )
        assert got == {labels: want}
    finally:
        gw.send_signal(signal.SIGTERM)
        code = gw.wait(30)
    text = log.read_text()
    assert code == 0, text
    assert "influx_forwarder_started" in text
    assert TOKEN not in text
