"""What the MQTT link has seen, read by /metrics and /healthz at scrape time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class LinkStats:
    protocol: str = ""  # "5" or "3.1.1" once connected
    keepalive: int = 0  # in use: ours, or the broker's Server Keep Alive
    takeovers: int = 0  # DISCONNECT 0x8E: another client took our session
    flapping: bool = False  # connections keep ending right after CONNACK
    # the broker's protocol violations by kind (receive_maximum_exceeded, qos2_above_granted)
    violations: Counter[str] = field(default_factory=Counter)
