"""The loopback HTTP endpoint: /metrics (Prometheus text format), /healthz, pages.

Pages (the status page at ``/``) are HTML documents rendered at request time.

A ``ThreadingHTTPServer`` on its own thread, so a slow scraper or a health
probe waiting on a locked store never blocks the event loop.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import structlog
from gatewatch.daemon.ops.health import HealthReport
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = structlog.get_logger("gatewatch.http")
Page = Callable[[], bytes]
# no scripts, no external assets: inline CSS and inline SVG only
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'"


class _Handler(BaseHTTPRequestHandler):
    server: ObservabilityServer
    server_version = "gatewatch"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._reply(200, CONTENT_TYPE_LATEST, generate_latest(self.server.registry))
        elif path == "/healthz":
            report = self.server.health()
            self._reply(report.http_status, "application/json", report.to_json())
        elif path in self.server.pages:
            self._page(self.server.pages[path])
        else:
            self._reply(404, "text/plain", b"not found: try /, /metrics or /healthz\n")

    def _page(self, page: Page) -> None:
        try:
            body = page()
        except Exception:  # a page must never take the endpoint down
            log.exception("http_page_failed", path=self.path)
            self._reply(500, "text/plain", b"page failed: see the daemon log\n")
            return
        self._reply(200, "text/html; charset=utf-8", body, csp=PAGE_CSP)

    def _reply(self, status: int, content_type: str, body: bytes, csp: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if csp:
            self.send_header("Content-Security-Policy", csp)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # scrapes every few seconds would flood the journal


class ObservabilityServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        registry: CollectorRegistry,
        health: Callable[[], HealthReport],
        pages: Mapping[str, Page] | None = None,
    ) -> None:
        self.registry = registry
        self.health = health
        self.pages = dict(pages or {})
        if ":" in address[0]:  # an IPv6 literal such as ::1
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> ObservabilityServer:
        self._thread.start()
        log.info("http_listening", host=self.server_address[0], port=self.port)
        return self

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)
