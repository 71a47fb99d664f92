"""daemon/ops/httpserver.py on real loopback sockets, IPv4 and IPv6."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from gatewatch.daemon.ops.health import CheckResult, HealthReport
from gatewatch.daemon.ops.httpserver import ObservabilityServer
from prometheus_client import CollectorRegistry, Counter


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return int(r.status), str(r.headers["Content-Type"]), bytes(r.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), str(exc.headers["Content-Type"]), bytes(exc.read())


@pytest.mark.parametrize(("host", "url_host"), [("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")])
def test_serves_metrics_and_health(host: str, url_host: str) -> None:
    registry = CollectorRegistry()
    Counter("probe_hits", "hits", registry=registry).inc(3)
    state = {"ok": True}

    def health() -> HealthReport:
        return HealthReport((CheckResult("broker", state["ok"], "x"),))

    server = ObservabilityServer((host, 0), registry, health).start()
    try:
        base = f"http://{url_host}:{server.port}"
        status, ctype, body = get(base + "/metrics")
        assert status == 200
        assert ctype.startswith("text/plain")
        assert b"probe_hits_total 3.0" in body
        assert get(base + "/healthz")[0] == 200
        state["ok"] = False
        status, ctype, body = get(base + "/healthz?verbose=1")
        assert (status, ctype) == (503, "application/json")
        assert json.loads(body)["failing"] == ["broker"]
    finally:
        server.close()


def test_port_in_use_raises_oserror() -> None:
    first = ObservabilityServer(("127.0.0.1", 0), CollectorRegistry(), lambda: HealthReport(()))
    try:
        with pytest.raises(OSError):
            ObservabilityServer(("127.0.0.1", first.port), CollectorRegistry(), first.health)
    finally:
        first.server_close()
