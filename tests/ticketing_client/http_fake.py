"""A tiny HTTP server for the desk fakes: real sockets, real HTTP, one handler per fake.

The fakes (jira_fake.py, servicenow_fake.py, zendesk_fake.py) mirror documented
endpoints of desks that cannot be installed here. This module only carries
requests to them over loopback (plain or TLS), and lets a test make the next
requests answer 429 with Retry-After, the way each desk rate-limits.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from servers import free_port


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    scheme: str = "http"

    def arg(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-encoded unless bytes/str
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json;charset=UTF-8"


class JsonError(Exception):
    """Raised by a fake's handler: answer with this status and body."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.response = Response(status, body, headers or {})


Handler = Callable[[Request], Response]


@dataclass
class Throttle:
    """The next ``count`` requests answer this 429 instead of being handled."""

    count: int = 0
    response: Response | None = None
    seen: int = 0


class FakeServer:
    def __init__(self, handler: Handler, *, tls_dir: Path | None = None) -> None:
        self.handler = handler
        self.port = free_port()
        self.throttle = Throttle()
        self.requests: list[tuple[str, str]] = []
        self.queries: list[dict[str, list[str]]] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), self._request_handler())
        self.scheme = "http"
        self.ca_file: Path | None = None
        if tls_dir is not None:
            self._wrap_tls(tls_dir)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def rate_limit(self, count: int, response: Response) -> None:
        with self.lock:
            self.throttle = Throttle(count, response)

    def _wrap_tls(self, tls_dir: Path) -> None:
        cert, key = self_signed(tls_dir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme, self.ca_file = "https", cert

    def _answer(self, request: Request) -> Response:
        with self.lock:
            self.requests.append((request.method, request.path))
            self.queries.append(request.query)
            if self.throttle.count > 0 and self.throttle.response is not None:
                self.throttle.count -= 1
                self.throttle.seen += 1
                return self.throttle.response
        try:
            return self.handler(request)
        except JsonError as err:
            return err.response

    def _request_handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                parts = urlsplit(self.path)
                size = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(size) if size else b"",
                    server.scheme,
                )
                response = server._answer(request)
                body, ctype = response.encoded()
                self.send_response(response.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:
                return None

        return _Handler


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl CLI), reused within the folder."""
    cert, key = folder / "desk.pem", folder / "desk.key"
    if not cert.exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
    return cert, key


def basic_user(request: Request) -> tuple[str, str] | None:
    """(user, secret) from an ``Authorization: Basic`` header."""
    import base64

    value = request.headers.get("authorization", "")
    if not value.startswith("Basic "):
        return None
    try:
        user, _, secret = base64.b64decode(value[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, secret


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    return value[7:] if value.startswith("Bearer ") else None
