"""A webhook receiver on loopback: verifies signatures, deduplicates, numbers tickets."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gatewatch.ticketing_client.adapters.webhook import verify
from servers import free_port


@dataclass
class Receiver:
    secret: str
    port: int = field(default_factory=free_port)
    events: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    deliveries: set[str] = field(default_factory=set)
    duplicates: int = 0
    fail_next: list[int] = field(default_factory=list)  # statuses to answer first

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.tickets: dict[str, str] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, reply = receiver.handle(dict(self.headers.items()), body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/gatewatch"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if self.fail_next:
                return self.fail_next.pop(0), {"error": "scripted"}
            stamp = headers.get("X-Gatewatch-Timestamp", "")
            sig = headers.get("X-Gatewatch-Signature", "")
            if not verify(self.secret, stamp, body, sig, time.time()):
                self.rejected.append(sig)
                return 401, {"accepted": False, "reason": "bad signature"}
            doc = json.loads(body)
            if doc["delivery_id"] in self.deliveries:
                self.duplicates += 1
                return 200, {"ticket_id": self.tickets.get(doc["incident_key"])}
            self.deliveries.add(doc["delivery_id"])
            self.events.append(doc)
            if doc["action"] == "create":
                self.tickets[doc["incident_key"]] = f"WH-{len(self.tickets) + 1}"
            return 200, {"ticket_id": self.tickets.get(doc["incident_key"])}
