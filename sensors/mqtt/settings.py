"""The MQTT client's settings: one frozen value, built by daemon/config."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

PROTOCOLS = ("5", "3.1.1", "auto")


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "gatewatch"
    protocol: str = "5"  # "5", "3.1.1" or "auto" (5, falling back to 3.1.1)
    subscriptions: tuple[tuple[str, int], ...] = (("building/+/+/+", 1),)
    keepalive: int = 30
    clean_start: bool = False
    session_expiry: int = 7 * 86_400
    receive_maximum: int = 4096
    max_packet_bytes: int = 1_048_576
    username: str | None = None
    password: bytes | None = field(default=None, repr=False)
    tls: ssl.SSLContext | None = field(default=None, repr=False)
    connect_timeout: float = 10.0
    backoff_min: float = 0.2
    backoff_max: float = 30.0
